/**
 * The inbox's state: the conversation list (keyset-paged, merged by id, newest activity
 * first) and the open thread (pages of older messages prepended, new ones merged in).
 */
import {
  conversation,
  listConversations,
  listMessages,
  listMessagesAfter,
  toIpcError,
  type ConversationFilter,
  type ConversationSummary,
  type Cursor,
  type IpcError,
  type MessageView,
} from '$lib/ipc';
import { byActivity, chronological, mergeConversations, mergeMessages } from './merge';

export { byActivity, chronological, mergeConversations, mergeMessages } from './merge';

export const CONVERSATION_PAGE = 50;
export const MESSAGE_PAGE = 50;
/**
 * The most messages a thread holds at once. Scrolling far into a long history (100,000
 * messages) drops the newest pages, and scrolling back down reads them again: the page, its
 * memory and every re-render stay the size of a few screens.
 */
export const MAX_LOADED = 6 * MESSAGE_PAGE;

/** The keyset position of a message (pages go before or after it). */
function cursorOf(message: MessageView): Cursor {
  return { ts: message.ts, id: message.id };
}

export const NO_FILTER: ConversationFilter = { unreadOnly: false, label: null, assignedToMe: false };

type Status = 'idle' | 'loading' | 'ready' | 'error';

export class ConversationsStore {
  items = $state<ConversationSummary[]>([]);
  filter = $state<ConversationFilter>(NO_FILTER);
  next = $state<Cursor | null>(null);
  status = $state<Status>('idle');
  loadingMore = $state(false);
  error = $state<IpcError | null>(null);

  // A newer load() makes answers to older requests stale.
  #generation = 0;

  readonly hasMore = $derived(this.next !== null);

  async load(filter: ConversationFilter = this.filter): Promise<void> {
    const mine = ++this.#generation;
    this.filter = filter;
    this.status = 'loading';
    this.error = null;
    try {
      const page = await listConversations(filter, null, CONVERSATION_PAGE);
      if (mine !== this.#generation) return;
      this.items = [...page.items].sort(byActivity);
      this.next = page.next;
      this.status = 'ready';
    } catch (error) {
      if (mine !== this.#generation) return;
      this.error = toIpcError(error);
      this.status = 'error';
    }
  }

  /** The next page after the keyset cursor; does nothing while one is loading or at the end. */
  async loadMore(): Promise<void> {
    if (this.next === null || this.loadingMore || this.status !== 'ready') return;
    const mine = this.#generation;
    this.loadingMore = true;
    try {
      const page = await listConversations(this.filter, this.next, CONVERSATION_PAGE);
      if (mine !== this.#generation) return;
      this.items = mergeConversations(this.items, page.items);
      this.next = page.next;
    } catch (error) {
      if (mine === this.#generation) this.error = toIpcError(error);
    } finally {
      if (mine === this.#generation) this.loadingMore = false;
    }
  }

  /** Re-reads the given conversations (after an inboxChanged event) and merges them in. */
  async refresh(ids: readonly number[]): Promise<void> {
    const mine = this.#generation;
    const results = await Promise.allSettled(ids.map((id) => conversation(id)));
    if (mine !== this.#generation) return;
    const fresh: ConversationSummary[] = [];
    const gone: number[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') fresh.push(result.value);
      else if (toIpcError(result.reason).kind === 'notFound') gone.push(ids[i] ?? -1);
    });
    this.items = mergeConversations(
      this.items.filter((c) => !gone.includes(c.id)),
      fresh.filter((c) => this.matches(c)),
    );
  }

  /**
   * Re-reads the newest page and merges it in, after an inboxChanged event that names no
   * conversation (the sync applied a page: anything, including new conversations, may have
   * changed). Shown rows stay put: no loading state. A load still in flight may have read
   * before the change, so it is started again instead.
   */
  async refreshAll(): Promise<void> {
    if (this.status !== 'ready') {
      await this.load();
      return;
    }
    const mine = this.#generation;
    try {
      const page = await listConversations(this.filter, null, CONVERSATION_PAGE);
      if (mine !== this.#generation) return;
      this.items = mergeConversations(this.items, page.items);
      // Everything was loaded before; the new page may not be everything any more.
      if (this.next === null) this.next = page.next;
    } catch (error) {
      // The rows shown are still right as of the last read; the next event tries again.
      console.warn('DataOptix: inbox refresh failed', error);
    }
  }

  /** Sets a conversation's unread count locally (after markRead). */
  markReadLocally(id: number): void {
    this.items = this.items.map((c) => (c.id === id ? { ...c, unreadCount: 0 } : c));
  }

  get(id: number): ConversationSummary | undefined {
    return this.items.find((c) => c.id === id);
  }

  // A refreshed conversation that is not in the list yet only joins it when it passes the
  // filter; one already shown stays (so the open conversation does not vanish when read).
  private matches(c: ConversationSummary): boolean {
    if (this.items.some((item) => item.id === c.id)) return true;
    const f = this.filter;
    if (f.unreadOnly && c.unreadCount === 0) return false;
    if (f.label !== null && !c.labels.includes(f.label)) return false;
    return true;
  }
}

export class ThreadStore {
  conversationId = $state<number | null>(null);
  /** Oldest first: a window of at most MAX_LOADED messages of the history. */
  messages = $state<MessageView[]>([]);
  before = $state<Cursor | null>(null);
  /** Set while newer messages than the window's exist (the user scrolled far back). */
  after = $state<Cursor | null>(null);
  status = $state<Status>('idle');
  loadingOlder = $state(false);
  loadingNewer = $state(false);
  error = $state<IpcError | null>(null);

  #generation = 0;
  /** Bumped by every move of the window's bounds (a refresh started before one is stale). */
  #moves = 0;
  #refreshing = false;
  #refreshAgain = false;
  /** The refresh running (or the last one): window moves start from where it leaves them. */
  #refreshRun: Promise<void> = Promise.resolve();

  readonly hasOlder = $derived(this.before !== null);
  readonly hasNewer = $derived(this.after !== null);
  readonly moving = $derived(this.loadingOlder || this.loadingNewer);

  async open(conversationId: number): Promise<void> {
    const mine = ++this.#generation;
    this.conversationId = conversationId;
    this.messages = [];
    this.before = null;
    this.after = null;
    // A load of the previous window, still in flight, is dropped by the generation check.
    this.loadingOlder = false;
    this.loadingNewer = false;
    this.status = 'loading';
    this.error = null;
    try {
      const page = await listMessages(conversationId, null, MESSAGE_PAGE);
      if (mine !== this.#generation) return;
      this.messages = [...page.items].sort(chronological);
      this.before = page.next;
      this.status = 'ready';
      // A change announced while the first page was on its way may not be in it.
      this.#refreshIfAsked();
    } catch (error) {
      if (mine !== this.#generation) return;
      this.error = toIpcError(error);
      this.status = 'error';
    }
  }

  close(): void {
    this.#generation++;
    this.conversationId = null;
    this.messages = [];
    this.before = null;
    this.after = null;
    this.loadingOlder = false;
    this.loadingNewer = false;
    this.status = 'idle';
    this.error = null;
  }

  /** Prepends the next older page; past MAX_LOADED, the newest messages leave the window. */
  async loadOlder(): Promise<void> {
    const id = this.conversationId;
    // One window move at a time: each trims what the other's cursor was computed from.
    if (id === null || this.before === null || this.moving || this.status !== 'ready') {
      return;
    }
    const mine = this.#generation;
    this.loadingOlder = true;
    try {
      // A refresh in flight may move the window's ends: page on from where it leaves them.
      await this.#refreshRun;
      const from = this.#olderFrom();
      if (mine !== this.#generation || from === null) return;
      const page = await listMessages(id, from, MESSAGE_PAGE);
      if (mine !== this.#generation) return;
      this.#moves++;
      const merged = mergeMessages(this.messages, page.items);
      this.before = page.next;
      if (merged.length > MAX_LOADED) {
        const kept = merged.slice(0, MAX_LOADED);
        this.after = cursorOf(kept[kept.length - 1] as MessageView);
        this.messages = kept;
      } else {
        this.messages = merged;
      }
    } catch (error) {
      if (mine === this.#generation) this.error = toIpcError(error);
    } finally {
      if (mine === this.#generation) {
        this.loadingOlder = false;
        this.#refreshIfAsked();
      }
    }
  }

  /** Appends the next newer page (scrolling back down); the oldest messages leave the window. */
  async loadNewer(): Promise<void> {
    const id = this.conversationId;
    if (id === null || this.after === null || this.moving || this.status !== 'ready') {
      return;
    }
    const mine = this.#generation;
    this.loadingNewer = true;
    try {
      await this.#refreshRun;
      const from = this.#newerFrom();
      if (mine !== this.#generation || from === null) return;
      const page = await listMessagesAfter(id, from, MESSAGE_PAGE);
      if (mine !== this.#generation) return;
      this.#moves++;
      const merged = mergeMessages(this.messages, page.items);
      const newest = merged[merged.length - 1];
      this.after = page.next === null || newest === undefined ? null : cursorOf(newest);
      this.keepNewest(merged);
    } catch (error) {
      if (mine === this.#generation) this.error = toIpcError(error);
    } finally {
      if (mine === this.#generation) {
        this.loadingNewer = false;
        this.#refreshIfAsked();
      }
    }
  }

  /** Back to the newest messages (from far into the past): the thread as when opened. */
  async showLatest(): Promise<void> {
    const id = this.conversationId;
    if (id !== null) await this.open(id);
  }

  /**
   * Re-reads the whole window (statuses, edits, deletions and erasures of every message it
   * shows) and, at the newest end, the messages that came since. Scrolled far back, the
   * window keeps its place: newer messages wait for "Newest messages" or scrolling down. A
   * refresh asked for during a window move or another refresh runs once that one is over,
   * so no change is missed and an older answer never overwrites a newer one.
   */
  async refresh(): Promise<void> {
    if (this.#refreshing || this.moving || this.status === 'loading') {
      this.#refreshAgain = true;
      return;
    }
    this.#refreshing = true;
    const run = this.#refreshUntilCurrent();
    this.#refreshRun = run;
    await run;
  }

  async #refreshUntilCurrent(): Promise<void> {
    try {
      let again = true;
      while (again) {
        this.#refreshAgain = false;
        await this.#refreshWindow();
        again = this.#askedAgain();
      }
    } finally {
      this.#refreshing = false;
    }
  }

  /** Whether another refresh was asked for meanwhile and can run now (no move in flight). */
  #askedAgain(): boolean {
    return this.#refreshAgain && !this.moving && this.status === 'ready' && this.conversationId !== null;
  }

  /** The window's ends as they are now (a call: a refresh may have moved them meanwhile). */
  #olderFrom(): Cursor | null {
    return this.before;
  }

  #newerFrom(): Cursor | null {
    return this.after;
  }

  /** Runs the refresh that was asked for while the window moved or opened. */
  #refreshIfAsked(): void {
    if (this.#refreshAgain && !this.#refreshing) void this.refresh();
  }

  async #refreshWindow(): Promise<void> {
    const id = this.conversationId;
    if (id === null || this.status !== 'ready') return;
    const mine = this.#generation;
    const moves = this.#moves;
    const oldest = this.messages[0];
    try {
      if (oldest === undefined) {
        const page = await listMessages(id, null, MESSAGE_PAGE);
        if (mine !== this.#generation) return;
        if (moves !== this.#moves || this.messages.length > 0) {
          this.#refreshAgain = true;
          return;
        }
        this.messages = [...page.items].sort(chronological);
        this.before = page.next;
        this.after = null;
        return;
      }
      // From just before the oldest message shown (same time, lower id), so it is read too.
      const from: Cursor = { ts: oldest.ts, id: oldest.id - 1 };
      const page = await listMessagesAfter(id, from, this.messages.length + MESSAGE_PAGE);
      if (mine !== this.#generation) return;
      if (moves !== this.#moves) {
        // The window moved meanwhile: this answer is of another range.
        this.#refreshAgain = true;
        return;
      }
      this.#replaceWindow(page.items, page.next);
    } catch (error) {
      if (mine === this.#generation) this.error = toIpcError(error);
    }
  }

  /**
   * Puts a fresh read of the window in place: `fresh` runs from the window's oldest message
   * up, `more` is set when messages newer than its last exist. What the window showed in the
   * range read and is not there any more was erased; what it shows past that range (a send
   * just made) stays.
   */
  #replaceWindow(fresh: readonly MessageView[], more: Cursor | null): void {
    const last = fresh[fresh.length - 1];
    const after = this.after;
    if (after === null) {
      if (last === undefined) {
        // Everything from the window's oldest message on is gone: read the newest page again.
        this.messages = [];
        this.#refreshAgain = true;
        return;
      }
      if (more !== null) {
        // More came than a page past the window: keep it gapless and let the reader go on
        // down from where the read stopped.
        this.#keepOldest(fresh);
        return;
      }
      // The read reached the newest message: what the window showed past it is gone (a send
      // made meanwhile bumped the moves, so that read was dropped and done again).
      this.keepNewest([...fresh]);
      return;
    }
    // Scrolled back: the window's newest end stays where it was, or comes up to where the
    // read stopped short of it (many messages came into its range).
    const inWindow = fresh.filter((m) => m.ts < after.ts || (m.ts === after.ts && m.id <= after.id));
    if (inWindow.length === 0) {
      // Everything the window showed is gone: read the newest page again.
      this.messages = [];
      this.#refreshAgain = true;
      return;
    }
    if (more !== null && inWindow.length === fresh.length) {
      this.#keepOldest(inWindow);
    } else if (inWindow.length > MAX_LOADED) {
      this.#keepOldest(inWindow);
    } else {
      this.messages = inWindow;
      // Read to the end and nothing past the window: what was newer is gone.
      if (more === null && inWindow.length === fresh.length) this.after = null;
    }
  }

  /** Sets the window to the oldest MAX_LOADED of `fresh`, newer ones after it. */
  #keepOldest(fresh: readonly MessageView[]): void {
    const kept = fresh.slice(0, MAX_LOADED);
    const end = kept[kept.length - 1];
    this.messages = kept;
    if (end !== undefined) this.after = cursorOf(end);
  }

  /**
   * Adds a message the user just sent (optimistic: status pending until the next refresh).
   * From far in the past, the thread goes back to the newest messages first.
   */
  append(message: MessageView): void {
    if (message.conversationId !== this.conversationId) return;
    // A refresh read before this send would drop it: that read is re-done.
    this.#moves++;
    // A reaction comes back as the message reacted to, which may be in the window.
    if (this.after !== null && !this.messages.some((m) => m.id === message.id)) {
      void this.showLatest().then(() => {
        if (message.conversationId === this.conversationId) {
          this.messages = mergeMessages(this.messages, [message]);
        }
      });
      return;
    }
    this.keepNewest(mergeMessages(this.messages, [message]));
  }

  /** Sets the window to `merged`, at most MAX_LOADED of its newest (moving down, or a busy thread left open). */
  private keepNewest(merged: MessageView[]): void {
    if (merged.length > MAX_LOADED) {
      const kept = merged.slice(merged.length - MAX_LOADED);
      this.before = cursorOf(kept[0] as MessageView);
      this.messages = kept;
    } else {
      this.messages = merged;
    }
  }
}
