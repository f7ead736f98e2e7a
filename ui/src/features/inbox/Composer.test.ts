import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { QuickReplyView } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import Composer from './Composer.svelte';

const REPLIES: QuickReplyView[] = [
  { id: 'q1', shortcut: '/hours', text: 'Open 8–18, Sundays 8–11.' },
  { id: 'q2', shortcut: '/hello', text: 'Hello! How can we help?' },
  { id: 'q3', shortcut: '/thanks', text: 'Thank you!' },
];

function setup() {
  const log: CommandCall[] = [];
  mockCommands({ quick_replies: () => REPLIES }, log);
  render(Composer, {
    conversationId: 3,
    replyTo: null,
    onsent: vi.fn(),
    onclearreply: vi.fn(),
    onwindowclosed: vi.fn(),
  });
  return log;
}

describe('Composer quick replies', () => {
  it('offers the matching quick replies after a slash and inserts the chosen one', async () => {
    const user = userEvent.setup();
    const log = setup();
    const input = screen.getByTestId('composer-input');
    await user.type(input, '/');
    await waitFor(() => {
      expect(screen.getAllByTestId('quick-reply-option')).toHaveLength(3);
    });
    await user.type(input, 'h');
    expect(screen.getAllByTestId('quick-reply-option').map((o) => o.dataset.shortcut)).toEqual(['/hours', '/hello']);
    await user.keyboard('{ArrowDown}{Enter}');
    expect(input).toHaveValue('Hello! How can we help?');
    expect(screen.queryByTestId('quick-reply-option')).toBeNull();
    // Choosing inserted the text; nothing was sent.
    expect(log.some((c) => c.cmd === 'send_message')).toBe(false);
  });

  it('Escape closes the list and Enter then sends the typed text as it is', async () => {
    const user = userEvent.setup();
    const log = setup();
    const input = screen.getByTestId('composer-input');
    await user.type(input, '/th');
    await waitFor(() => {
      expect(screen.getAllByTestId('quick-reply-option')).toHaveLength(1);
    });
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('quick-reply-option')).toBeNull();
    await user.keyboard('{Enter}');
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
        conversationId: 3,
        message: { type: 'text', body: '/th' },
      });
    });
  });

  it('a slash inside a sentence is just text', async () => {
    const user = userEvent.setup();
    setup();
    await user.type(screen.getByTestId('composer-input'), 'either/or');
    expect(screen.queryByTestId('quick-reply-option')).toBeNull();
  });
});
