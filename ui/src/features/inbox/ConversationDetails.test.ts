import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ConversationSummary, NoteView, TeamView } from '$lib/ipc';
import { emitEvent, mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { conversation } from '../../test/fixtures';
import ConversationDetails from './ConversationDetails.svelte';

const ANA = '11111111-1111-4111-8111-111111111111';
const BO = '22222222-2222-4222-8222-222222222222';

function note(id: string, text: string, mine = false): NoteView {
  return { id, text, at: Date.UTC(2026, 10, 25, 9, 30), authorName: mine ? 'Ana Owner' : 'Bo Agent', mine };
}

const TEAM: TeamView = {
  myRole: 'owner',
  canManage: true,
  members: [
    { id: ANA, name: 'Ana Owner', email: 'ana@example.com', role: 'owner', active: true, isMe: true, joinedAt: '2026-11-01T10:00:00Z' },
    { id: BO, name: 'Bo Agent', email: 'bo@example.com', role: 'agent', active: true, isMe: false, joinedAt: '2026-11-02T10:00:00Z' },
  ],
  devices: [],
  invitations: [],
};

function open(convo: ConversationSummary, handlers: Record<string, CommandHandler> = {}) {
  const log: CommandCall[] = [];
  mockCommands(
    {
      notes: () => [note('n1', 'Prefers rye bread')],
      team: () => TEAM,
      set_labels: () => null,
      assign: () => null,
      ...handlers,
    },
    log,
  );
  const onchanged = vi.fn();
  const onclose = vi.fn();
  render(ConversationDetails, { conversation: convo, onchanged, onclose });
  return { log, onchanged, onclose };
}

describe('ConversationDetails', () => {
  it('says who last changed the labels and the assignee, and when', async () => {
    open(conversation(7, { labels: ['vip'], assignedTo: BO }), {
      conversation_changes: () => [
        { field: 'assigned_to', at: Date.UTC(2026, 10, 27, 9, 30), authorName: 'Bo Agent', mine: false },
        { field: 'labels', at: Date.UTC(2026, 10, 26, 15, 0), authorName: 'Ana Owner', mine: true },
      ],
    });
    expect(await screen.findByTestId('labels-changed-by')).toHaveTextContent(/^Changed by You · /);
    expect(screen.getByTestId('assignee-changed-by')).toHaveTextContent(/^Changed by Bo Agent · /);
  });

  it('says nothing about changes it cannot read', async () => {
    open(conversation(7, { labels: ['vip'] }));
    expect(await screen.findByTestId('note')).toBeInTheDocument();
    expect(screen.queryByTestId('labels-changed-by')).toBeNull();
    expect(screen.queryByTestId('details-error')).toBeNull();
  });


  it('adds and removes labels through set_labels with the whole new set', async () => {
    const user = userEvent.setup();
    const { log, onchanged } = open(conversation(7, { labels: ['vip'] }));
    await user.type(screen.getByTestId('label-input'), '  wholesale {Enter}');
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'set_labels').map((c) => c.args)).toEqual([
        { conversationId: 7, labels: ['vip', 'wholesale'] },
      ]);
    });
    expect(onchanged).toHaveBeenCalled();
    expect(screen.getByTestId('label-input')).toHaveValue('');

    await user.click(screen.getByRole('button', { name: 'Remove label vip' }));
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'set_labels').at(-1)?.args).toEqual({ conversationId: 7, labels: [] });
    });
  });

  it('does not send a label the conversation already has', async () => {
    const user = userEvent.setup();
    const { log } = open(conversation(7, { labels: ['vip'] }));
    await user.type(screen.getByTestId('label-input'), 'vip{Enter}');
    expect(log.some((c) => c.cmd === 'set_labels')).toBe(false);
  });

  it('assigns to a teammate and back to nobody', async () => {
    const user = userEvent.setup();
    const { log } = open(conversation(7));
    const select = screen.getByTestId('assignee-select');
    await waitFor(() => {
      expect(within(select).getByRole('option', { name: 'Bo Agent' })).toBeInTheDocument();
    });
    await user.selectOptions(select, BO);
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'assign').at(-1)?.args).toEqual({ conversationId: 7, userId: BO });
    });
    await user.selectOptions(select, '');
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'assign').at(-1)?.args).toEqual({ conversationId: 7, userId: null });
    });
  });

  it('shows notes as text, adds one, and reloads when another device adds one', async () => {
    const user = userEvent.setup();
    let stored = [note('n1', '<img src=x onerror=alert(1)>')];
    const { log } = open(conversation(7), {
      notes: () => stored,
      add_note: (args) => {
        const added = note('n2', String(args?.text), true);
        stored = [...stored, added];
        return added;
      },
    });
    await waitFor(() => {
      expect(screen.getAllByTestId('note')).toHaveLength(1);
    });
    expect(screen.getByTestId('note')).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(document.querySelector('img')).toBeNull();

    await user.type(screen.getByTestId('note-input'), 'Call back after 5 pm');
    await user.click(screen.getByTestId('note-add'));
    await waitFor(() => {
      expect(screen.getAllByTestId('note')).toHaveLength(2);
    });
    expect(log.find((c) => c.cmd === 'add_note')?.args).toEqual({ conversationId: 7, text: 'Call back after 5 pm' });
    expect(screen.getAllByTestId('note')[1]).toHaveTextContent('You');

    stored = [...stored, note('n3', 'Delivered by Bo')];
    await emitEvent('inboxChanged', { conversationIds: [7] });
    await waitFor(() => {
      expect(screen.getAllByTestId('note')).toHaveLength(3);
    });
  });

  it('shows why a change was refused', async () => {
    const user = userEvent.setup();
    open(conversation(7), {
      set_labels: () => Promise.reject({ kind: 'invalidInput', message: 'a label may not be empty' }),
    });
    await user.type(screen.getByTestId('label-input'), 'x{Enter}');
    expect(await screen.findByTestId('details-error')).toHaveTextContent('a label may not be empty');
  });
});
