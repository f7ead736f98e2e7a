import { beforeEach, describe, expect, it } from 'vitest';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import { reportFirstPaint, resetFirstPaintForTests } from './firstPaint';

/** A frame scheduler the test advances by hand. */
function frames() {
  let queue: (() => void)[] = [];
  return {
    schedule: (cb: () => void) => {
      queue.push(cb);
    },
    next: () => {
      const now = queue;
      queue = [];
      now.forEach((cb) => {
        cb();
      });
    },
  };
}

beforeEach(() => {
  resetFirstPaintForTests();
});

describe('reportFirstPaint', () => {
  it('reports the screen after the frame that draws it, once per launch', async () => {
    const log: CommandCall[] = [];
    mockCommands({ first_screen_painted: () => null }, log);
    const f = frames();
    reportFirstPaint('signedOut', f.schedule);
    reportFirstPaint('inbox', f.schedule);
    f.next();
    expect(log).toEqual([]);
    f.next();
    await Promise.resolve();
    expect(log).toEqual([{ cmd: 'first_screen_painted', args: { screen: 'signedOut' } }]);
    f.next();
    expect(log).toHaveLength(1);
  });

  it('drops a report still waiting for its frames when the next launch (test) starts', async () => {
    const log: CommandCall[] = [];
    mockCommands({ first_screen_painted: () => null }, log);
    const f = frames();
    reportFirstPaint('inbox', f.schedule);
    f.next();
    resetFirstPaintForTests();
    f.next();
    await Promise.resolve();
    expect(log).toEqual([]);
  });

  it('swallows a failing report: it only feeds a log line', async () => {
    const calls = mockCommands({ first_screen_painted: () => Promise.reject(new Error('gone')) });
    const f = frames();
    reportFirstPaint('inbox', f.schedule);
    f.next();
    f.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['first_screen_painted']);
  });
});
