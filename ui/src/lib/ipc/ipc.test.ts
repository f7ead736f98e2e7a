import { describe, expect, it } from 'vitest';
import { unwrap } from './errors';
import { getAppInfo, IpcError, toIpcError } from './index';
import { mockCommands, sampleAppInfo } from './testing';

describe('getAppInfo', () => {
  it('invokes the app_info command', async () => {
    const calls = mockCommands({ app_info: () => sampleAppInfo });
    await expect(getAppInfo()).resolves.toEqual(sampleAppInfo);
    expect(calls).toEqual(['app_info']);
  });

  it('turns a {kind, message} rejection into an IpcError', async () => {
    mockCommands({ app_info: () => Promise.reject({ kind: 'store', message: 'locked' }) });
    const error = await getAppInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({ kind: 'store', message: 'locked' });
  });

  it('reports a missing bridge as unavailable', async () => {
    const error = await getAppInfo().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable' });
  });
});

describe('toIpcError', () => {
  it.each([
    ['a string', 'nope', 'unknown', 'nope'],
    ['an Error', new TypeError('bridge gone'), 'unavailable', 'bridge gone'],
    ['an object', { code: 7 }, 'unknown', '{"code":7}'],
    ['undefined', undefined, 'unknown', 'undefined'],
  ])('normalises %s', (_label, input, kind, message) => {
    expect(toIpcError(input)).toMatchObject({ kind, message });
  });
});

describe('unwrap', () => {
  it('returns the data of an ok result', async () => {
    await expect(unwrap(() => Promise.resolve({ status: 'ok', data: 42 }))).resolves.toBe(42);
  });

  it('throws the error of an error result', async () => {
    await expect(
      unwrap(() => Promise.resolve({ status: 'error', error: { kind: 'auth', message: 'expired' } })),
    ).rejects.toMatchObject({ kind: 'auth', message: 'expired' });
  });
});
