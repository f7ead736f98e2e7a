import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { QuickReplyView } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import QuickReplies from './QuickReplies.svelte';

function setup(initial: QuickReplyView[]) {
  let stored = initial;
  const log: CommandCall[] = [];
  mockCommands(
    {
      quick_replies: () => stored,
      save_quick_reply: (args) => {
        const shortcut = String(args?.shortcut);
        if (stored.some((r) => r.shortcut === shortcut && r.id !== args?.id)) {
          return Promise.reject({ kind: 'conflict', message: `${shortcut} is already a quick reply` });
        }
        const saved = { id: typeof args?.id === 'string' ? args.id : 'new', shortcut, text: String(args?.text) };
        stored = [...stored.filter((r) => r.id !== saved.id), saved];
        return saved;
      },
      delete_quick_reply: (args) => {
        stored = stored.filter((r) => r.id !== args?.id);
        return null;
      },
    },
    log,
  );
  render(QuickReplies);
  return log;
}

describe('QuickReplies settings', () => {
  it('adds, edits and deletes quick replies', async () => {
    const user = userEvent.setup();
    const log = setup([{ id: 'q1', shortcut: '/hours', text: 'Open 8–18.' }]);
    expect(await screen.findByTestId('quick-reply-row')).toHaveTextContent('/hours');

    await user.type(screen.getByTestId('quick-reply-shortcut'), '/thanks');
    await user.type(screen.getByTestId('quick-reply-text'), 'Thank you!');
    await user.click(screen.getByTestId('quick-reply-save'));
    await waitFor(() => {
      expect(screen.getAllByTestId('quick-reply-row')).toHaveLength(2);
    });
    expect(log.find((c) => c.cmd === 'save_quick_reply')?.args).toEqual({ id: null, shortcut: '/thanks', text: 'Thank you!' });

    const hours = screen.getAllByTestId('quick-reply-row')[0];
    if (hours === undefined) throw new Error('no row');
    await user.click(within(hours).getByRole('button', { name: 'Edit' }));
    expect(screen.getByTestId('quick-reply-shortcut')).toHaveValue('/hours');
    await user.clear(screen.getByTestId('quick-reply-text'));
    await user.type(screen.getByTestId('quick-reply-text'), 'Open every day.');
    await user.click(screen.getByTestId('quick-reply-save'));
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'save_quick_reply').at(-1)?.args).toEqual({
        id: 'q1',
        shortcut: '/hours',
        text: 'Open every day.',
      });
    });

    await user.click(within(screen.getAllByTestId('quick-reply-row')[0] ?? document.body).getByTestId('quick-reply-delete'));
    await waitFor(() => {
      expect(screen.getAllByTestId('quick-reply-row')).toHaveLength(1);
    });
  });

  it('shows a refused shortcut and keeps the draft', async () => {
    const user = userEvent.setup();
    setup([{ id: 'q1', shortcut: '/hours', text: 'Open 8–18.' }]);
    await screen.findByTestId('quick-reply-row');
    await user.type(screen.getByTestId('quick-reply-shortcut'), '/hours');
    await user.type(screen.getByTestId('quick-reply-text'), 'Another');
    await user.click(screen.getByTestId('quick-reply-save'));
    expect(await screen.findByTestId('quick-reply-error')).toHaveTextContent('/hours is already a quick reply');
    expect(screen.getByTestId('quick-reply-text')).toHaveValue('Another');
  });
});
