import { describe, expect, it } from 'vitest';
import type { MessageView } from '$lib/ipc';
import type { CommandCall } from '$lib/ipc/testing';
import { mockCommands } from '$lib/ipc/testing';
import { conversation, conversations, message } from '../../test/fixtures';
import {
  CONVERSATION_PAGE,
  ConversationsStore,
  MAX_LOADED,
  MESSAGE_PAGE,
  mergeConversations,
  mergeMessages,
  NO_FILTER,
  ThreadStore,
} from './inbox.svelte';
import { groupReactions } from './merge';

describe('mergeConversations', () => {
  it('replaces by id and keeps newest activity first', () => {
    const current = [conversation(1, { lastMessageAt: 300 }), conversation(2, { lastMessageAt: 200 })];
    const merged = mergeConversations(current, [
      conversation(2, { lastMessageAt: 400, lastPreview: 'new' }),
      conversation(3, { lastMessageAt: 100 }),
    ]);
    expect(merged.map((c) => c.id)).toEqual([2, 1, 3]);
    expect(merged[0]?.lastPreview).toBe('new');
  });

  it('orders equal times by id so the list does not jump', () => {
    const merged = mergeConversations([], [
      conversation(5, { lastMessageAt: 10 }),
      conversation(9, { lastMessageAt: 10 }),
    ]);
    expect(merged.map((c) => c.id)).toEqual([9, 5]);
  });
});

describe('mergeMessages', () => {
  it('keeps messages oldest first and updates statuses by id', () => {
    const a = message({ id: 10, ts: 100, status: 'pending', direction: 'out' });
    const b = message({ id: 11, ts: 50 });
    const merged = mergeMessages([a], [b, { ...a, status: 'read' }]);
    expect(merged.map((m) => m.id)).toEqual([11, 10]);
    expect(merged[1]?.status).toBe('read');
  });
});

describe('groupReactions', () => {
  it('counts reactions per emoji and drops removals', () => {
    expect(
      groupReactions([
        { emoji: '👍', by: 'Ana' },
        { emoji: '👍', by: 'Ben' },
        { emoji: '', by: 'Cy' },
        { emoji: '❤️', by: 'Cy' },
      ]),
    ).toEqual([
      { emoji: '👍', by: ['Ana', 'Ben'] },
      { emoji: '❤️', by: ['Cy'] },
    ]);
  });
});

describe('ConversationsStore', () => {
  it('loads the first page and follows the keyset cursor', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_conversations: (args) =>
          args?.after === null
            ? { items: conversations(CONVERSATION_PAGE), next: { ts: 5, id: 50 } }
            : { items: conversations(10, 51), next: null },
      },
      log,
    );
    const store = new ConversationsStore();
    await store.load();
    expect(store.status).toBe('ready');
    expect(store.items).toHaveLength(CONVERSATION_PAGE);
    expect(store.hasMore).toBe(true);

    await store.loadMore();
    expect(store.items).toHaveLength(CONVERSATION_PAGE + 10);
    expect(store.hasMore).toBe(false);
    expect(log[1]?.args).toEqual({ filter: NO_FILTER, after: { ts: 5, id: 50 }, limit: CONVERSATION_PAGE });

    await store.loadMore(); // at the end: no request
    expect(log).toHaveLength(2);
  });

  it('passes the filter and reports errors', async () => {
    const log: CommandCall[] = [];
    mockCommands({ list_conversations: () => Promise.reject({ kind: 'internal', message: 'db' }) }, log);
    const store = new ConversationsStore();
    const filter = { unreadOnly: true, label: 'vip', assignedToMe: false };
    await store.load(filter);
    expect(log[0]?.args?.filter).toEqual(filter);
    expect(store.status).toBe('error');
    expect(store.error?.kind).toBe('internal');
  });

  it('refreshes changed conversations, moving them to the top, and drops deleted ones', async () => {
    mockCommands({
      list_conversations: () => ({ items: conversations(3), next: null }),
      conversation: (args) =>
        args?.id === 3
          ? conversation(3, { lastMessageAt: 2_000_000_000, unreadCount: 1 })
          : Promise.reject({ kind: 'notFound', message: 'gone' }),
    });
    const store = new ConversationsStore();
    await store.load();
    await store.refresh([3, 2]);
    expect(store.items.map((c) => c.id)).toEqual([3, 1]);
    expect(store.get(3)?.unreadCount).toBe(1);
  });

  it('refreshAll merges the newest page without a loading state and learns of a next page', async () => {
    let page = { items: conversations(2), next: null as { ts: number; id: number } | null };
    mockCommands({ list_conversations: () => page });
    const store = new ConversationsStore();
    await store.load();
    page = {
      items: [conversation(9, { lastMessageAt: 2_000_000_000 }), ...conversations(2)],
      next: { ts: 1, id: 1 },
    };
    const refreshing = store.refreshAll();
    expect(store.status).toBe('ready');
    await refreshing;
    expect(store.items.map((c) => c.id)).toEqual([9, 1, 2]);
    expect(store.hasMore).toBe(true);
  });

  it('does not add a refreshed conversation that fails the filter', async () => {
    mockCommands({
      list_conversations: () => ({ items: [conversation(1, { unreadCount: 2 })], next: null }),
      conversation: () => conversation(7, { unreadCount: 0 }),
    });
    const store = new ConversationsStore();
    await store.load({ ...NO_FILTER, unreadOnly: true });
    await store.refresh([7]);
    expect(store.items.map((c) => c.id)).toEqual([1]);
  });

  it('drops the answer of a superseded load', async () => {
    let release: (value: unknown) => void = () => undefined;
    mockCommands({
      list_conversations: (args) =>
        (args?.filter as { unreadOnly: boolean }).unreadOnly
          ? { items: [conversation(2)], next: null }
          : new Promise((resolve) => {
              release = resolve;
            }),
    });
    const store = new ConversationsStore();
    const slow = store.load(NO_FILTER);
    await store.load({ ...NO_FILTER, unreadOnly: true });
    release({ items: conversations(5), next: null });
    await slow;
    expect(store.items.map((c) => c.id)).toEqual([2]);
  });
});

describe('ThreadStore', () => {
  it('opens newest page in chronological order, prepends older pages, appends sends', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) =>
          args?.before === null
            ? {
                items: [message({ id: 3, ts: 30 }), message({ id: 2, ts: 20 })],
                next: { ts: 20, id: 2 },
              }
            : { items: [message({ id: 1, ts: 10 })], next: null },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    expect(thread.messages.map((m) => m.id)).toEqual([2, 3]);
    expect(thread.hasOlder).toBe(true);

    await thread.loadOlder();
    expect(thread.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(thread.hasOlder).toBe(false);
    expect(log[1]?.args).toMatchObject({ conversationId: 1, before: { ts: 20, id: 2 } });

    thread.append(message({ id: 4, ts: 40, direction: 'out', status: 'pending' }));
    expect(thread.messages.at(-1)?.status).toBe('pending');
    // A message of another conversation is not mixed in.
    thread.append(message({ id: 5, ts: 50, conversationId: 2 }));
    expect(thread.messages).toHaveLength(4);
  });

  it('refresh re-reads the window and merges new messages and status updates', async () => {
    const db = threadDb([message({ id: 1, ts: 10, direction: 'out', status: 'sent' })]);
    const log: CommandCall[] = [];
    mockCommands(db.commands, log);
    const thread = new ThreadStore();
    await thread.open(1);
    db.put(message({ id: 2, ts: 20 }), message({ id: 1, ts: 10, direction: 'out', status: 'delivered' }));
    await thread.refresh();
    expect(thread.messages.map((m) => [m.id, m.status])).toEqual([
      [1, 'delivered'],
      [2, null],
    ]);
    // From just before the oldest message shown, for the window and a page more.
    expect(log.at(-1)).toMatchObject({
      cmd: 'list_messages_after',
      args: { conversationId: 1, after: { ts: 10, id: 0 }, limit: 1 + MESSAGE_PAGE },
    });
  });

  it('holds a window of the history: far into the past and back, never more than MAX_LOADED', async () => {
    // A 100,000-message conversation as the core pages it: ids and times rise together.
    const TOTAL = 100_000;
    const at = (id: number) => message({ id, ts: id * 10, text: `m${String(id)}` });
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) => {
          const before = args?.before as { id: number } | null;
          const top = before === null ? TOTAL : before.id - 1;
          const ids = Array.from({ length: Math.min(MESSAGE_PAGE, top) }, (_, i) => top - i);
          const last = ids.at(-1);
          return { items: ids.map(at), next: last !== undefined && last > 1 ? { ts: last * 10, id: last } : null };
        },
        list_messages_after: (args) => {
          const after = args?.after as { id: number };
          const limit = args?.limit as number;
          const ids = Array.from({ length: limit }, (_, i) => after.id + 1 + i).filter((id) => id <= TOTAL);
          const last = ids.at(-1);
          return { items: ids.map(at), next: last !== undefined && last < TOTAL ? { ts: last * 10, id: last } : null };
        },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    for (let i = 0; i < 20; i++) await thread.loadOlder();
    // 21 pages read, six kept: the oldest ones, with the way back down remembered.
    expect(thread.messages).toHaveLength(MAX_LOADED);
    const oldest = TOTAL - 21 * MESSAGE_PAGE + 1;
    expect(thread.messages[0]?.id).toBe(oldest);
    expect(thread.messages.at(-1)?.id).toBe(oldest + MAX_LOADED - 1);
    expect(thread.hasNewer).toBe(true);
    // While the window is in the past, a refresh re-reads its range and adds nothing newer.
    await thread.refresh();
    expect(log.at(-1)).toMatchObject({
      cmd: 'list_messages_after',
      args: { after: { id: oldest - 1 }, limit: MAX_LOADED + MESSAGE_PAGE },
    });
    expect(thread.messages).toHaveLength(MAX_LOADED);
    expect(thread.messages[0]?.id).toBe(oldest);
    expect(thread.messages.at(-1)?.id).toBe(oldest + MAX_LOADED - 1);
    expect(thread.after).toEqual({ ts: (oldest + MAX_LOADED - 1) * 10, id: oldest + MAX_LOADED - 1 });

    await thread.loadNewer();
    expect(log.at(-1)).toMatchObject({
      cmd: 'list_messages_after',
      args: { conversationId: 1, after: { id: oldest + MAX_LOADED - 1 } },
    });
    expect(thread.messages).toHaveLength(MAX_LOADED);
    expect(thread.messages[0]?.id).toBe(oldest + MESSAGE_PAGE);
    // Up again from there: the page dropped at the top comes back.
    await thread.loadOlder();
    expect(thread.messages[0]?.id).toBe(oldest);

    // Down to the end: the window reaches the newest message and stops there.
    for (let i = 0; i < 25 && thread.hasNewer; i++) await thread.loadNewer();
    expect(thread.hasNewer).toBe(false);
    expect(thread.messages.at(-1)?.id).toBe(TOTAL);
    expect(thread.messages).toHaveLength(MAX_LOADED);
    const ids = thread.messages.map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: MAX_LOADED }, (_, i) => TOTAL - MAX_LOADED + 1 + i));
  });

  it('moves the window one way at a time, and a reopen clears a move in flight', async () => {
    let release: () => void = () => {};
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) =>
          args?.before === null
            ? { items: [message({ id: 500, ts: 5000 })], next: { ts: 5000, id: 500 } }
            : new Promise((resolve) => {
                release = () => {
                  resolve({ items: [message({ id: 499, ts: 4990 })], next: { ts: 4990, id: 499 } });
                };
              }),
        list_messages_after: () => ({ items: [], next: null }),
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    thread.after = { ts: 5000, id: 500 };
    const older = thread.loadOlder();
    expect(thread.moving).toBe(true);
    // The other direction waits for this move: its cursor is about to change.
    await thread.loadNewer();
    expect(log.filter((c) => c.cmd === 'list_messages_after')).toHaveLength(0);
    // "Newest messages" while the older page is still on its way: the flag does not stick.
    await thread.showLatest();
    release();
    await older;
    expect(thread.loadingOlder).toBe(false);
    expect(thread.moving).toBe(false);
    expect(thread.messages.map((m) => m.id)).toEqual([500]);
  });

  it('a busy thread left open keeps only the newest MAX_LOADED messages', async () => {
    const at = (id: number) => message({ id, ts: id * 10 });
    const db = threadDb(Array.from({ length: MESSAGE_PAGE }, (_, i) => at(i + 1)));
    mockCommands(db.commands);
    const thread = new ThreadStore();
    await thread.open(1);
    let newest = MESSAGE_PAGE;
    for (let round = 0; round < 8; round++) {
      db.put(...Array.from({ length: MESSAGE_PAGE }, (_, i) => at(newest + 1 + i)));
      newest += MESSAGE_PAGE;
      await thread.refresh();
    }
    expect(thread.messages).toHaveLength(MAX_LOADED);
    expect(thread.messages.at(-1)?.id).toBe(newest);
    expect(thread.hasNewer).toBe(false);
    expect(thread.before).toEqual({ ts: (newest - MAX_LOADED + 1) * 10, id: newest - MAX_LOADED + 1 });
  });

  it('a thread scrolled back sees status changes, edits and erasures of the messages it shows', async () => {
    const at = (id: number) => message({ id, ts: id * 10, direction: 'out', status: 'sent' });
    const db = threadDb(Array.from({ length: 1_000 }, (_, i) => at(i + 1)));
    mockCommands(db.commands);
    const thread = new ThreadStore();
    await thread.open(1);
    for (let i = 0; i < 8; i++) await thread.loadOlder();
    expect(thread.hasNewer).toBe(true);
    const shown = thread.messages.map((m) => m.id);
    const [first, second, third] = shown as [number, number, number];
    db.put({ ...at(first), status: 'read' }, { ...at(second), text: 'edited', editedAt: 99 });
    db.erase(third);
    db.put(at(2_000));
    await thread.refresh();
    expect(thread.messages.find((m) => m.id === first)?.status).toBe('read');
    expect(thread.messages.find((m) => m.id === second)?.text).toBe('edited');
    expect(thread.messages.some((m) => m.id === third)).toBe(false);
    // Still the same stretch of the past: nothing newer came into it.
    expect(thread.messages.map((m) => m.id)).toEqual(shown.filter((id) => id !== third));
    expect(thread.hasNewer).toBe(true);
  });

  it('at the newest end, changes to messages pages back are seen too', async () => {
    const at = (id: number) => message({ id, ts: id * 10, direction: 'out', status: 'sent' });
    const db = threadDb(Array.from({ length: 3 * MESSAGE_PAGE }, (_, i) => at(i + 1)));
    mockCommands(db.commands);
    const thread = new ThreadStore();
    await thread.open(1);
    await thread.loadOlder();
    await thread.loadOlder();
    expect(thread.messages).toHaveLength(3 * MESSAGE_PAGE);
    db.put({ ...at(1), status: 'read' }, at(3 * MESSAGE_PAGE + 1));
    await thread.refresh();
    expect(thread.messages[0]?.status).toBe('read');
    expect(thread.messages.at(-1)?.id).toBe(3 * MESSAGE_PAGE + 1);
    expect(thread.hasNewer).toBe(false);
  });

  it('more new messages than a page at once leave no gap: the window stops where the read did', async () => {
    const at = (id: number) => message({ id, ts: id * 10 });
    const db = threadDb(Array.from({ length: MESSAGE_PAGE }, (_, i) => at(i + 1)));
    mockCommands(db.commands);
    const thread = new ThreadStore();
    await thread.open(1);
    db.put(...Array.from({ length: 3 * MESSAGE_PAGE }, (_, i) => at(MESSAGE_PAGE + 1 + i)));
    await thread.refresh();
    const ids = thread.messages.map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: 2 * MESSAGE_PAGE }, (_, i) => i + 1));
    expect(thread.hasNewer).toBe(true);
    for (let i = 0; i < 5 && thread.hasNewer; i++) await thread.loadNewer();
    expect(thread.messages.at(-1)?.id).toBe(4 * MESSAGE_PAGE);
  });

  it('a refresh asked for during a window move runs after it, on the moved window', async () => {
    const at = (id: number) => message({ id, ts: id * 10, status: 'sent', direction: 'out' });
    const db = threadDb(Array.from({ length: 2 * MESSAGE_PAGE }, (_, i) => at(i + 1)));
    let hold: Promise<void> | null = null;
    let release: () => void = () => {};
    const log: CommandCall[] = [];
    mockCommands(
      {
        ...db.commands,
        list_messages: async (args) => {
          if (hold !== null) await hold;
          return db.commands.list_messages(args);
        },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const older = thread.loadOlder();
    db.put({ ...at(1), status: 'read' });
    await thread.refresh();
    // Nothing read yet: the window is about to change.
    expect(log.filter((c) => c.cmd === 'list_messages_after')).toHaveLength(0);
    release();
    await older;
    await waitUntil(() => thread.messages[0]?.status === 'read');
    expect(thread.messages[0]).toMatchObject({ id: 1, status: 'read' });
    expect(log.filter((c) => c.cmd === 'list_messages_after')).toHaveLength(1);
  });

  it('a refresh drops what is gone at either end, and then knows nothing newer is left', async () => {
    const at = (id: number) => message({ id, ts: id * 10 });
    const db = threadDb(Array.from({ length: 3 }, (_, i) => at(i + 1)));
    mockCommands(db.commands);
    const thread = new ThreadStore();
    await thread.open(1);
    // The newest message is gone (say, a send replaced by its echo): it leaves the window.
    db.erase(3);
    await thread.refresh();
    expect(thread.messages.map((m) => m.id)).toEqual([1, 2]);
    // Scrolled back with newer messages past the window, which then go: the window is the newest.
    thread.after = { ts: 20, id: 2 };
    db.put(at(4));
    db.erase(4);
    await thread.refresh();
    expect(thread.hasNewer).toBe(false);
    // Everything the window showed is gone: it reads the newest page again.
    db.erase(1);
    db.erase(2);
    db.put(at(9));
    await thread.refresh();
    expect(thread.messages.map((m) => m.id)).toEqual([9]);
    // The same from far back: the window empties, then shows the newest page.
    thread.after = { ts: 90, id: 9 };
    db.put(at(12));
    db.erase(9);
    await thread.refresh();
    expect(thread.messages.map((m) => m.id)).toEqual([12]);
    expect(thread.hasNewer).toBe(false);
  });

  it('paging up while a refresh is on its way starts from where the refresh leaves the window', async () => {
    const at = (id: number) => message({ id, ts: id * 10 });
    const db = threadDb(Array.from({ length: 400 }, (_, i) => at(i + 1)));
    let hold: Promise<void> | null = null;
    let release: () => void = () => {};
    mockCommands({
      ...db.commands,
      // The page up is slower than the refresh: the refresh trims the window first.
      list_messages: async (args) => {
        const gate = hold;
        if (gate !== null) await gate;
        return db.commands.list_messages(args);
      },
    });
    const thread = new ThreadStore();
    await thread.open(1);
    for (let i = 0; i < 5; i++) await thread.loadOlder();
    expect(thread.messages).toHaveLength(MAX_LOADED);
    expect(thread.hasNewer).toBe(false);
    db.put(...Array.from({ length: 40 }, (_, i) => at(401 + i)));
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const refreshing = thread.refresh();
    const older = thread.loadOlder();
    await refreshing;
    release();
    await older;
    const ids = thread.messages.map((m) => m.id);
    // One unbroken stretch of the history, whatever was trimmed at either end.
    const first = ids[0] ?? 0;
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => first + i));
    expect(ids.length).toBe(MAX_LOADED);
  });

  it('a change announced while the thread opens is read once it is open', async () => {
    const db = threadDb([message({ id: 1, ts: 10, direction: 'out', status: 'sent' })]);
    let hold: Promise<void> | null = null;
    let release: () => void = () => {};
    mockCommands({
      ...db.commands,
      // Read at once, answered later: the answer predates what changes meanwhile.
      list_messages: async (args) => {
        const page = db.commands.list_messages(args);
        if (hold !== null) await hold;
        return page;
      },
    });
    const thread = new ThreadStore();
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const opening = thread.open(1);
    db.put(message({ id: 1, ts: 10, direction: 'out', status: 'read' }));
    await thread.refresh();
    hold = null;
    release();
    await opening;
    await waitUntil(() => thread.messages[0]?.status === 'read');
    expect(thread.messages[0]?.status).toBe('read');
  });

  it('a message sent from far in the past brings the thread back to the newest messages', async () => {
    mockCommands({
      list_messages: (args) =>
        args?.before === null
          ? { items: [message({ id: 900, ts: 9000 })], next: { ts: 9000, id: 900 } }
          : { items: [], next: null },
    });
    const thread = new ThreadStore();
    await thread.open(1);
    // As if scrolled back: the window ends before the newest message.
    thread.after = { ts: 100, id: 10 };
    thread.messages = [message({ id: 10, ts: 100 })];
    // A reaction to a message of the window stays there.
    thread.append({ ...message({ id: 10, ts: 100 }), reactions: [{ emoji: '👍', by: 'me' }] });
    expect(thread.messages.map((m) => m.id)).toEqual([10]);
    expect(thread.hasNewer).toBe(true);
    thread.append(message({ id: 901, ts: 9010, direction: 'out', status: 'pending' }));
    await waitUntil(() => thread.messages.at(-1)?.id === 901);
    expect(thread.messages.map((m) => m.id)).toEqual([900, 901]);
    expect(thread.hasNewer).toBe(false);
  });
});

/**
 * One conversation's messages as the core pages them (keyset on time then id), for tests
 * that change the history between reads.
 */
function threadDb(initial: MessageView[]) {
  const rows = new Map<number, MessageView>(initial.map((m) => [m.id, m]));
  const sorted = () => [...rows.values()].sort((a, b) => a.ts - b.ts || a.id - b.id);
  const key = (c: { ts: number; id: number }, m: MessageView) => m.ts - c.ts || m.id - c.id;
  const commands = {
    list_messages: (args?: Record<string, unknown>) => {
      const before = args?.before as { ts: number; id: number } | null;
      const limit = args?.limit as number;
      const older = sorted()
        .filter((m) => before === null || key(before, m) < 0)
        .reverse();
      const items = older.slice(0, limit);
      const last = items.at(-1);
      return { items, next: older.length > limit && last ? { ts: last.ts, id: last.id } : null };
    },
    list_messages_after: (args?: Record<string, unknown>) => {
      const after = args?.after as { ts: number; id: number };
      const limit = args?.limit as number;
      const newer = sorted().filter((m) => key(after, m) > 0);
      const items = newer.slice(0, limit);
      const last = items.at(-1);
      return { items, next: newer.length > limit && last ? { ts: last.ts, id: last.id } : null };
    },
  };
  return {
    commands,
    put: (...messages: MessageView[]) => {
      for (const m of messages) rows.set(m.id, m);
    },
    erase: (id: number) => rows.delete(id),
  };
}

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
