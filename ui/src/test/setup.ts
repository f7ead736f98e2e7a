import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/svelte';
import { afterEach } from 'vitest';
import { setLocaleOverride } from '$lib/i18n';
import { clearIpcMocks } from '$lib/ipc/testing';
import { resetFirstPaintForTests } from '$lib/startup/firstPaint';

// jsdom has no layout, so no ResizeObserver; Svelte's bind:clientHeight needs one to exist.
// Sizes stay 0 in tests, and components fall back on their default sizes.
class NoLayoutResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
if (!('ResizeObserver' in globalThis)) {
  Object.defineProperty(globalThis, 'ResizeObserver', {
    value: NoLayoutResizeObserver,
    configurable: true,
    writable: true,
  });
}

// Deterministic formatting whatever the machine's locale.
setLocaleOverride('en-US');

afterEach(() => {
  // Unmount first: components unsubscribe from IPC events while the mocks still exist.
  cleanup();
  // Each test is a launch of its own: a first-paint report still waiting for its animation
  // frames must not reach the next test's IPC mocks.
  resetFirstPaintForTests();
  clearIpcMocks();
  setLocaleOverride('en-US');
});
