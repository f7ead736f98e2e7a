import { describe, expect, it, vi } from 'vitest';
import {
  listConversations,
  listMessages,
  onboardingStatus,
  onInboxChanged,
  onOnboardingLink,
  register,
  renderTemplate,
  sendMessage,
  sessionState,
  setupManual,
} from './index';
import { emitEvent, mockCommands, type CommandCall } from './testing';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('command wrappers', () => {
  it('call the snake_case command with camelCase arguments', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        session_state: () => ({ kind: 'needsPassphrase', firstRun: true }),
        register: () => ({}),
        list_conversations: () => ({ items: [], next: null }),
        list_messages: () => ({ items: [], next: null }),
        send_message: () => ({}),
        onboarding_status: () => ({ state: 'waiting' }),
        setup_manual: () => ({}),
        render_template: () => ({ header: null, body: 'b', footer: null, buttons: [] }),
      },
      log,
    );
    await sessionState();
    await register({ relayUrl: 'https://r', name: 'A', email: 'a@b.c', company: 'C', password: 'p' });
    await listConversations({ unreadOnly: true, label: null, assignedToMe: false }, { ts: 1, id: 2 }, 50);
    await listMessages(7, null, 50);
    await sendMessage(7, { type: 'text', body: 'hi', previewUrl: false }, 'wamid.q');
    await onboardingStatus('s-1');
    await setupManual({ wabaId: '1', phoneNumberId: '2', token: 't' });
    await renderTemplate(3, ['a'], []);
    expect(log).toEqual([
      { cmd: 'session_state', args: {} },
      {
        cmd: 'register',
        args: { input: { relayUrl: 'https://r', name: 'A', email: 'a@b.c', company: 'C', password: 'p' } },
      },
      {
        cmd: 'list_conversations',
        args: {
          filter: { unreadOnly: true, label: null, assignedToMe: false },
          after: { ts: 1, id: 2 },
          limit: 50,
        },
      },
      { cmd: 'list_messages', args: { conversationId: 7, before: null, limit: 50 } },
      {
        cmd: 'send_message',
        args: {
          conversationId: 7,
          message: { type: 'text', body: 'hi', previewUrl: false },
          replyTo: 'wamid.q',
        },
      },
      { cmd: 'onboarding_status', args: { sessionId: 's-1' } },
      { cmd: 'setup_manual', args: { input: { wabaId: '1', phoneNumberId: '2', token: 't' } } },
      { cmd: 'render_template', args: { templateId: 3, params: ['a'], headerParams: [] } },
    ]);
  });

  it('reject with the contract error kinds', async () => {
    mockCommands({
      send_message: () => Promise.reject({ kind: 'windowClosed', message: '131047' }),
    });
    await expect(
      sendMessage(1, { type: 'text', body: 'x', previewUrl: false }, null),
    ).rejects.toMatchObject({ kind: 'windowClosed', message: '131047' });
  });
});

describe('event subscriptions', () => {
  it('deliver payloads until unsubscribed', async () => {
    mockCommands({});
    const seen = vi.fn();
    const off = onInboxChanged(seen);
    await flush();
    await emitEvent('inboxChanged', { conversationIds: [4, 5] });
    expect(seen).toHaveBeenCalledWith({ conversationIds: [4, 5] });
    off();
    await emitEvent('inboxChanged', { conversationIds: [6] });
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('can be stopped before Tauri finished registering', async () => {
    mockCommands({});
    const seen = vi.fn();
    const off = onOnboardingLink(seen);
    off();
    await flush();
    await emitEvent('onboardingLink', { sessionId: 's' });
    expect(seen).not.toHaveBeenCalled();
  });
});
