/**
 * What the app shows at start and who is signed in. The Rust side owns the truth
 * (`sessionState()`); this store mirrors it for the shell and updates it after the account
 * flows so the UI does not need a round trip to move on.
 */
import {
  sessionState,
  signOut as ipcSignOut,
  toIpcError,
  unlockWithPassphrase,
  type Account,
  type IpcError,
  type PhoneNumber,
  type SessionState,
} from '$lib/ipc';

export type SessionPhase =
  | { kind: 'loading' }
  | { kind: 'error'; error: IpcError }
  | SessionState;

export class SessionStore {
  phase = $state<SessionPhase>({ kind: 'loading' });

  /** The signed-in account, or null. */
  readonly account = $derived(this.phase.kind === 'signedIn' ? this.phase.account : null);

  #attempt = 0;

  /** Asks Rust what to show. Errors become the `error` phase (the shell offers a retry). */
  async load(): Promise<void> {
    const mine = ++this.#attempt;
    this.phase = { kind: 'loading' };
    try {
      const state = await sessionState();
      if (mine === this.#attempt) this.phase = state;
    } catch (error) {
      if (mine === this.#attempt) this.phase = { kind: 'error', error: toIpcError(error) };
    }
  }

  /** Unlocks the local store; a wrong passphrase rejects with an IpcError for the prompt. */
  async unlock(passphrase: string): Promise<void> {
    const state = await unlockWithPassphrase(passphrase);
    this.#attempt++;
    this.phase = state;
  }

  signedIn(account: Account): void {
    this.#attempt++;
    this.phase = { kind: 'signedIn', account };
  }

  /** Adds (or replaces, by id) a number the account just connected. */
  numberConnected(number: PhoneNumber): void {
    if (this.phase.kind !== 'signedIn') return;
    const others = this.phase.account.numbers.filter((n) => n.id !== number.id);
    this.phase = {
      kind: 'signedIn',
      account: { ...this.phase.account, numbers: [...others, number] },
    };
  }

  /**
   * Reads the signed-in account again without showing "loading": numbers another device of
   * the workspace connected reach this one through sync, after sign-in or joining.
   */
  async refreshAccount(): Promise<void> {
    if (this.phase.kind !== 'signedIn') return;
    const mine = this.#attempt;
    try {
      const state = await sessionState();
      if (mine === this.#attempt && state.kind === 'signedIn') this.phase = state;
    } catch {
      // Keep what is shown; the next change tries again.
    }
  }

  /** Where the app stands after the account was deleted (a first run). */
  adopt(state: SessionState): void {
    this.#attempt++;
    this.phase = state;
  }

  async signOut(): Promise<void> {
    await ipcSignOut();
    await this.load();
  }
}

export const session = new SessionStore();
