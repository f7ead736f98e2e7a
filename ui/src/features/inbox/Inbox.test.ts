import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationSummary, MessageView } from '$lib/ipc';
import { emitEvent, mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { contact, conversation, conversations, message, NOW_S } from '../../test/fixtures';
import Inbox from './Inbox.svelte';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW_S * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(items: ConversationSummary[], handlers: Record<string, CommandHandler> = {}, hasNumber = true) {
  const log: CommandCall[] = [];
  const calls = mockCommands(
    {
      list_conversations: () => ({ items, next: null }),
      list_messages: (args) => ({
        items: [message({ id: Number(args?.conversationId) * 100, conversationId: Number(args?.conversationId) })],
        next: null,
      }),
      // A thread's refresh re-reads its window from its oldest message on.
      list_messages_after: (args) => ({
        items: [message({ id: Number(args?.conversationId) * 100, conversationId: Number(args?.conversationId) })],
        next: null,
      }),
      mark_read: () => null,
      ...handlers,
    },
    log,
  );
  const onconnect = vi.fn();
  render(Inbox, { hasNumber, onconnect });
  return { log, calls, onconnect };
}

describe('Inbox', () => {
  it('opens a conversation, marks it read and shows its thread', async () => {
    const { calls } = setup([conversation(1), conversation(2, { unreadCount: 4 })]);
    const rows = await screen.findAllByTestId('conversation-row');
    await fireEvent.click(rows[1] as HTMLElement);
    expect(await screen.findByTestId('thread')).toHaveAttribute('data-conversation-id', '2');
    await waitFor(() => {
      expect(calls).toContain('mark_read');
    });
    expect(screen.queryByLabelText('4 unread')).toBeNull();
  });

  it('Alt+Down / Alt+Up move between conversations; Ctrl+K opens the quick switcher', async () => {
    setup(conversations(3));
    await screen.findAllByTestId('conversation-row');
    const user = userEvent.setup();
    await user.keyboard('{Alt>}{ArrowDown}{/Alt}');
    expect(await screen.findByTestId('thread')).toHaveAttribute('data-conversation-id', '1');
    await user.keyboard('{Alt>}{ArrowDown}{/Alt}');
    await waitFor(() => {
      expect(screen.getByTestId('thread')).toHaveAttribute('data-conversation-id', '2');
    });
    await user.keyboard('{Alt>}{ArrowUp}{/Alt}');
    await waitFor(() => {
      expect(screen.getByTestId('thread')).toHaveAttribute('data-conversation-id', '1');
    });

    await user.keyboard('{Control>}k{/Control}');
    const switcher = await screen.findByTestId('quick-switcher');
    await user.keyboard('Customer 3');
    expect(switcher.querySelectorAll('[role="option"]')).toHaveLength(1);
    await user.keyboard('{Enter}');
    await waitFor(() => {
      expect(screen.getByTestId('thread')).toHaveAttribute('data-conversation-id', '3');
    });
    expect(screen.queryByTestId('quick-switcher')).toBeNull();

    await user.keyboard('{Control>}k{/Control}');
    await screen.findByTestId('quick-switcher');
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('quick-switcher')).toBeNull();
  });

  it('searches messages and contacts and opens the conversation of a result', async () => {
    const log: CommandCall[] = [];
    const items = [conversation(1), conversation(2)];
    mockCommands(
      {
        list_conversations: () => ({ items, next: null }),
        list_messages: () => ({ items: [], next: null }),
        search: (args) =>
          args?.query === 'zzz'
            ? { messages: [], contacts: [] }
            : {
                messages: [
                  {
                    message: message({ id: 7, conversationId: 2 }),
                    conversationId: 2,
                    contactName: 'Customer 2',
                    snippet: 'the tulips arrived',
                  },
                ],
                contacts: [contact(1)],
              },
      },
      log,
    );
    render(Inbox, { hasNumber: true, onconnect: vi.fn() });
    await screen.findAllByTestId('conversation-row');
    const user = userEvent.setup();
    await user.type(screen.getByTestId('search-input'), 'tulips');
    const results = await screen.findAllByTestId('search-result');
    expect(results).toHaveLength(2);
    expect(log.find((c) => c.cmd === 'search')?.args).toEqual({ query: 'tulips', limit: 30 });
    await user.click(results[1] as HTMLElement);
    expect(await screen.findByTestId('thread')).toHaveAttribute('data-conversation-id', '2');

    await user.type(screen.getByTestId('search-input'), 'zzz');
    expect(await screen.findByTestId('search-empty')).toHaveTextContent('Nothing found for “zzz”');

    await user.clear(screen.getByTestId('search-input'));
    await user.type(screen.getByTestId('search-input'), 'Customer');
    const contactHit = (await screen.findAllByTestId('search-result'))[0];
    await user.click(contactHit as HTMLElement);
    await waitFor(() => {
      expect(screen.getByTestId('thread')).toHaveAttribute('data-conversation-id', '1');
    });
  });

  it('filters by unread and label through the command', async () => {
    const { log } = setup([conversation(1, { labels: ['vip'] }), conversation(2)]);
    await screen.findAllByTestId('conversation-row');
    const user = userEvent.setup();
    await user.click(screen.getByTestId('filter-unread'));
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'list_conversations').at(-1)?.args?.filter).toEqual({
        unreadOnly: true,
        label: null,
        assignedToMe: false,
      });
    });
    await user.selectOptions(screen.getByTestId('filter-label'), 'vip');
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'list_conversations').at(-1)?.args?.filter).toEqual({
        unreadOnly: true,
        label: 'vip',
        assignedToMe: false,
      });
    });
  });

  it('refetches the conversations an inboxChanged event names, and the open thread', async () => {
    let preview = 'old';
    const { log } = setup([conversation(1), conversation(2)], {
      conversation: (args) =>
        conversation(Number(args?.id), { lastPreview: preview, lastMessageAt: NOW_S + 10, unreadCount: 1 }),
    });
    const rows = await screen.findAllByTestId('conversation-row');
    await fireEvent.click(rows[1] as HTMLElement);
    await screen.findByTestId('thread');
    const before = log.filter((c) => c.cmd === 'list_messages_after').length;

    preview = 'Is it still available?';
    const reads = log.filter((c) => c.cmd === 'mark_read').length;
    await emitEvent('inboxChanged', { conversationIds: [2] });
    await waitFor(() => {
      expect(screen.getAllByTestId('conversation-row')[0]).toHaveTextContent('Is it still available?');
    });
    expect(screen.getAllByTestId('conversation-row')[0]).toHaveAttribute('data-conversation-id', '2');
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'list_messages_after').length).toBe(before + 1);
    });
    // The new message arrived in the open conversation: it is marked read right away.
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'mark_read')).toHaveLength(reads + 1);
    });
    expect(log.filter((c) => c.cmd === 'mark_read').at(-1)?.args).toEqual({ conversationId: 2 });
  });

  it('an inboxChanged event naming no conversation (a sync page) brings new ones and the open thread', async () => {
    let items = [conversation(1)];
    let status: MessageView['status'] = 'sent';
    const { log } = setup([], {
      list_conversations: () => ({ items, next: null }),
      list_messages: (args) => ({
        items: [message({ id: 100, conversationId: Number(args?.conversationId), direction: 'out', status })],
        next: null,
      }),
      list_messages_after: (args) => ({
        items: [message({ id: 100, conversationId: Number(args?.conversationId), direction: 'out', status })],
        next: null,
      }),
    });
    await fireEvent.click((await screen.findAllByTestId('conversation-row'))[0] as HTMLElement);
    await waitFor(() => {
      expect(screen.getByTestId('message')).toHaveAttribute('data-status', 'sent');
    });
    const loads = log.filter((c) => c.cmd === 'list_conversations').length;

    items = [conversation(2, { lastMessageAt: NOW_S + 60 }), conversation(1)];
    status = 'read';
    await emitEvent('inboxChanged', { conversationIds: [] });
    await waitFor(() => {
      expect(screen.getAllByTestId('conversation-row').map((r) => r.dataset.conversationId)).toEqual(['2', '1']);
    });
    await waitFor(() => {
      expect(screen.getByTestId('message')).toHaveAttribute('data-status', 'read');
    });
    expect(log.filter((c) => c.cmd === 'list_conversations')).toHaveLength(loads + 1);
    // No loading state: the open conversation stays open.
    expect(screen.getByTestId('thread')).toHaveAttribute('data-conversation-id', '1');
  });

  it('empty states: connect WhatsApp without a number, waiting with one', async () => {
    const { onconnect } = setup([], {}, false);
    const empty = await screen.findByTestId('inbox-empty');
    expect(empty).toHaveTextContent('No conversations yet');
    await fireEvent.click(screen.getByRole('button', { name: 'Connect WhatsApp' }));
    expect(onconnect).toHaveBeenCalled();
  });

  it('empty state with a number waits for the first customer message', async () => {
    setup([]);
    expect(await screen.findByTestId('inbox-empty')).toHaveTextContent(
      'Waiting for your first customer message',
    );
  });

  it('a failed load offers a retry', async () => {
    let fail = true;
    setup([], {
      list_conversations: () =>
        fail ? Promise.reject({ kind: 'internal', message: 'store locked' }) : { items: [conversation(1)], next: null },
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('store locked');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findAllByTestId('conversation-row')).toHaveLength(1);
  });
});
