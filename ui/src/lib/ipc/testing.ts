/**
 * Test helpers over Tauri's IPC mocks, so tests (like features) never import
 * `@tauri-apps/api` themselves. Only test files import this module; it is not part of
 * the bundle.
 */
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { AppInfo } from './bindings';

export type CommandHandler = (args: Record<string, unknown> | undefined) => unknown;

/**
 * Answers IPC commands from a table of handlers (keyed by the Rust command name, e.g.
 * `app_info`). A handler may return a value or a promise, or throw / reject to simulate
 * a command error. Unknown commands reject like an unregistered Tauri command would.
 * Returns the list of commands invoked, in order.
 */
export function mockCommands(handlers: Record<string, CommandHandler>): string[] {
  const calls: string[] = [];
  mockIPC((cmd, payload) => {
    calls.push(cmd);
    const handler = handlers[cmd];
    if (handler === undefined) {
      return Promise.reject(new Error(`command ${cmd} not found`));
    }
    return handler(payload as Record<string, unknown> | undefined);
  });
  return calls;
}

export const sampleAppInfo: AppInfo = {
  name: 'DataOptix',
  version: '0.1.0',
  graphVersion: 'v23.0',
};

/** Removes every IPC mock, as if no Tauri bridge were present. */
export function clearIpcMocks(): void {
  clearMocks();
}
