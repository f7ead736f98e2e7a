import type { IpcErrorKind as ShellErrorKind, LintIssueView, Result } from './bindings';

/**
 * What went wrong, as the UI switches on it.
 *
 * - the kinds of the shell's one IPC error type (`{ kind, message }`, generated into
 *   `bindings.ts`), e.g. `invalidInput`, `internal`;
 * - `unavailable`: the Tauri bridge itself is missing or threw (the page is not running
 *   inside the DataOptix shell, or the shell went away). Nothing the user did is at fault;
 * - `unknown`: a rejection that is not the shell's error type (a bare string, say).
 */
export type IpcErrorKind = ShellErrorKind | ContractErrorKind | 'unavailable' | 'unknown';

/**
 * The kinds the IPC contract (contract.ts) adds to the generated ones. Kept here until the
 * Rust side exports them through tauri-specta, at which point ShellErrorKind covers them.
 */
export type ContractErrorKind =
  | 'invalidInput'
  | 'internal'
  | 'unauthenticated'
  | 'relayUnreachable'
  | 'windowClosed'
  | 'restricted'
  | 'notFound'
  | 'conflict'
  | 'wrongPassphrase'
  | 'keyringUnavailable';

export class IpcError extends Error {
  override readonly name = 'IpcError';

  /** For `lint`: the template draft's issues, located on the editor's fields. */
  readonly issues: LintIssueView[];

  constructor(
    readonly kind: IpcErrorKind,
    message: string,
    options?: { cause?: unknown; issues?: LintIssueView[] },
  ) {
    super(message, options);
    this.issues = options?.issues ?? [];
  }
}

function isKindMessage(value: unknown): value is { kind: string; message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

function describe(value: unknown): string {
  // JSON.stringify gives undefined for these, and throws on cycles and BigInt.
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Normalises anything an IPC call can reject with into an {@link IpcError}. */
export function toIpcError(error: unknown): IpcError {
  if (error instanceof IpcError) return error;
  // The Rust side rejects with plain data; a JS Error means the bridge itself failed.
  if (error instanceof Error) return new IpcError('unavailable', error.message, { cause: error });
  if (isKindMessage(error)) {
    // A kind newer than these bindings still reaches the UI as-is; screens fall back on
    // their generic message for kinds they don't know.
    const issues = (error as { issues?: unknown }).issues;
    return new IpcError(error.kind as IpcErrorKind, error.message, {
      cause: error,
      issues: Array.isArray(issues) ? (issues as LintIssueView[]) : [],
    });
  }
  if (typeof error === 'string') return new IpcError('unknown', error, { cause: error });
  return new IpcError('unknown', describe(error), { cause: error });
}

/** Runs an IPC call and turns any rejection into an {@link IpcError}. */
export async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toIpcError(error);
  }
}

/** For commands tauri-specta exports as `Promise<Result<T, E>>`: the data, or a thrown IpcError. */
export async function unwrap<T, E>(run: () => Promise<Result<T, E>>): Promise<T> {
  const result = await call(run);
  if (result.status === 'ok') return result.data;
  throw toIpcError(result.error);
}
