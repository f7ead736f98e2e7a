import '@testing-library/jest-dom/vitest';
import { afterEach } from 'vitest';
import { setLocaleOverride } from '$lib/i18n';
import { clearIpcMocks } from '$lib/ipc/testing';

// Deterministic formatting whatever the machine's locale.
setLocaleOverride('en-US');

afterEach(() => {
  clearIpcMocks();
  setLocaleOverride('en-US');
});
