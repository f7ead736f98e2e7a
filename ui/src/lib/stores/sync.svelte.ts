/**
 * The sync state with the relay and the number of sends waiting in the outbox, kept live
 * by the `syncStateChanged` and `inboxChanged` events.
 */
import {
  onInboxChanged,
  onSyncStateChanged,
  outboxCount,
  syncState,
  type SyncState,
  type Unsubscribe,
} from '$lib/ipc';

export class SyncStore {
  state = $state<SyncState | null>(null);
  outbox = $state(0);

  /** Loads the current values and follows changes until the returned function is called. */
  start(): Unsubscribe {
    let live = true;
    const offSync = onSyncStateChanged((state) => {
      this.state = state;
      // Coming back online drains the outbox: its count changes without an inbox event.
      void this.refreshOutbox(() => live);
    });
    const offInbox = onInboxChanged(() => {
      void this.refreshOutbox(() => live);
    });
    void syncState().then(
      (state) => {
        // An event may have arrived first: it is newer than this answer.
        if (live && this.state === null) this.state = state;
      },
      (error: unknown) => {
        console.warn('DataOptix: sync state unavailable', error);
      },
    );
    void this.refreshOutbox(() => live);
    return () => {
      live = false;
      offSync();
      offInbox();
    };
  }

  async refreshOutbox(stillLive: () => boolean = () => true): Promise<void> {
    try {
      const count = await outboxCount();
      if (stillLive()) this.outbox = count;
    } catch (error) {
      console.warn('DataOptix: outbox count unavailable', error);
    }
  }
}
