/**
 * Test helpers over Tauri's IPC mocks, so tests (like features) never import
 * `@tauri-apps/api` themselves. Only test files import this module; it is not part of
 * the bundle.
 */
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { AppInfo } from './bindings';
import { EVENT_NAMES } from './index';

export type CommandHandler = (args: Record<string, unknown> | undefined) => unknown;

export type CommandCall = { cmd: string; args: Record<string, unknown> | undefined };

/**
 * Answers IPC commands from a table of handlers (keyed by the Rust command name, e.g.
 * `app_info`). A handler may return a value or a promise, or throw / reject to simulate
 * a command error. Unknown commands reject like an unregistered Tauri command would.
 * Events are mocked too, so `emitEvent` reaches the app's subscriptions.
 * Returns the list of commands invoked, in order.
 */
export function mockCommands(
  handlers: Record<string, CommandHandler>,
  log: CommandCall[] = [],
): string[] {
  const calls: string[] = [];
  mockIPC(
    (cmd, payload) => {
      calls.push(cmd);
      const args = payload as Record<string, unknown> | undefined;
      log.push({ cmd, args });
      const handler = handlers[cmd];
      if (handler === undefined) {
        return Promise.reject(new Error(`command ${cmd} not found`));
      }
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

/** Delivers an app event to the subscriptions made through lib/ipc (after `mockCommands`). */
export function emitEvent(name: keyof typeof EVENT_NAMES, payload: unknown): Promise<void> {
  return emit(EVENT_NAMES[name], payload);
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
