import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/svelte';
import { afterEach } from 'vitest';
import { setLocaleOverride } from '$lib/i18n';
import { clearIpcMocks } from '$lib/ipc/testing';

// Deterministic formatting whatever the machine's locale.
setLocaleOverride('en-US');

afterEach(() => {
  // Unmount first: components unsubscribe from IPC events while the mocks still exist.
  cleanup();
  clearIpcMocks();
  setLocaleOverride('en-US');
});
