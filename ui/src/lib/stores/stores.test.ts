import { describe, expect, it } from 'vitest';
import { emitEvent, mockCommands } from '$lib/ipc/testing';
import { account, phoneNumber } from '../../test/fixtures';
import { SessionStore } from './session.svelte';
import { SyncStore } from './sync.svelte';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SessionStore', () => {
  it('loads the session state from Rust', async () => {
    mockCommands({ session_state: () => ({ kind: 'signedIn', account: account() }) });
    const store = new SessionStore();
    expect(store.phase.kind).toBe('loading');
    await store.load();
    expect(store.account?.email).toBe('ana@lumen.example');
  });

  it('turns a failure into the error phase', async () => {
    mockCommands({ session_state: () => Promise.reject({ kind: 'internal', message: 'x' }) });
    const store = new SessionStore();
    await store.load();
    expect(store.phase).toMatchObject({ kind: 'error', error: { kind: 'internal' } });
  });

  it('unlocks with a passphrase, or rejects with wrongPassphrase', async () => {
    mockCommands({
      unlock_with_passphrase: (args) =>
        args?.passphrase === 'correct horse'
          ? { kind: 'signedOut', lastRelayUrl: null, defaultRelayUrl: 'https://r.example' }
          : Promise.reject({ kind: 'wrongPassphrase', message: 'no' }),
    });
    const store = new SessionStore();
    await expect(store.unlock('nope')).rejects.toMatchObject({ kind: 'wrongPassphrase' });
    await store.unlock('correct horse');
    expect(store.phase.kind).toBe('signedOut');
  });

  it('adds a connected number to the account, replacing one with the same id', () => {
    const store = new SessionStore();
    store.signedIn(account({ numbers: [] }));
    store.numberConnected(phoneNumber({ qualityRating: 'YELLOW' }));
    store.numberConnected(phoneNumber({ qualityRating: 'GREEN' }));
    expect(store.account?.numbers).toHaveLength(1);
    expect(store.account?.numbers[0]?.qualityRating).toBe('GREEN');
  });

  it('signs out and asks Rust again', async () => {
    const calls = mockCommands({
      sign_out: () => null,
      session_state: () => ({ kind: 'signedOut', lastRelayUrl: 'https://r.example', defaultRelayUrl: null }),
    });
    const store = new SessionStore();
    store.signedIn(account());
    await store.signOut();
    expect(calls).toEqual(['sign_out', 'session_state']);
    expect(store.account).toBeNull();
  });
});

describe('SyncStore', () => {
  it('loads state and outbox, then follows events', async () => {
    let outbox = 2;
    mockCommands({
      sync_state: () => ({ state: 'connecting' }),
      outbox_count: () => outbox,
    });
    const store = new SyncStore();
    const stop = store.start();
    await flush();
    expect(store.state).toEqual({ state: 'connecting' });
    expect(store.outbox).toBe(2);

    outbox = 0;
    await emitEvent('syncStateChanged', { state: 'offline', retryInSeconds: 8 });
    await flush();
    expect(store.state).toEqual({ state: 'offline', retryInSeconds: 8 });
    expect(store.outbox).toBe(0);

    outbox = 5;
    await emitEvent('inboxChanged', { conversationIds: [1] });
    await flush();
    expect(store.outbox).toBe(5);

    stop();
    await emitEvent('syncStateChanged', { state: 'online' });
    await flush();
    expect(store.state).toEqual({ state: 'offline', retryInSeconds: 8 });
  });
});
