import { describe, expect, it, vi } from 'vitest';
import {
  broadcastRecipients,
  businessProfile,
  chooseHeaderSample,
  chooseProfilePhoto,
  cancelBroadcast,
  createBroadcast,
  EVENT_NAMES,
  listConversations,
  onBroadcastProgress,
  updateBusinessProfile,
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
import bindingsSource from './bindings.ts?raw';
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
      {
        cmd: 'render_template',
        args: { templateId: 3, params: ['a'], headerParams: [], buttonParams: [], headerMediaChosen: false },
      },
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

describe('broadcast and profile wrappers', () => {
  it('name the Rust commands and their arguments', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        create_broadcast: () => ({}),
        broadcast_recipients: () => [],
        cancel_broadcast: () => ({}),
        business_profile: () => ({}),
        update_business_profile: () => ({}),
        choose_profile_photo: () => null,
        choose_header_sample: () => ({ handle: '4::x', fileName: 'a.png' }),
      },
      log,
    );
    const form = {
      name: 'June',
      phoneNumberId: null,
      templateName: 'order_ready',
      language: 'en_US',
      body: [{ kind: 'column' as const, column: 'first name' }],
      header: [],
      recipients: { kind: 'label' as const, label: 'vip' },
    };
    await createBroadcast(form);
    await broadcastRecipients(3, 10, 200);
    await cancelBroadcast(3);
    await businessProfile(null);
    const update = { about: 'Hi', address: null, description: null, email: null, websites: null, vertical: null };
    await updateBusinessProfile('pn-1', update);
    expect(await chooseProfilePhoto('pn-1')).toBeNull();
    expect(await chooseHeaderSample('IMAGE')).toEqual({ handle: '4::x', fileName: 'a.png' });
    expect(log).toEqual([
      { cmd: 'create_broadcast', args: { form } },
      { cmd: 'broadcast_recipients', args: { id: 3, after: 10, limit: 200 } },
      { cmd: 'cancel_broadcast', args: { id: 3 } },
      { cmd: 'business_profile', args: { phoneNumberId: null } },
      { cmd: 'update_business_profile', args: { phoneNumberId: 'pn-1', update } },
      { cmd: 'choose_profile_photo', args: { phoneNumberId: 'pn-1' } },
      { cmd: 'choose_header_sample', args: { format: 'IMAGE' } },
    ]);
  });
});

describe('event subscriptions', () => {
  it('listen under the names tauri-specta generated', () => {
    // Tauri's own events (`tauri://…`, e.g. files dropped on the window) are not the app's.
    const appEvents = Object.entries(EVENT_NAMES).filter(([, name]) => !name.startsWith('tauri://'));
    expect(appEvents.length).toBeGreaterThan(5);
    for (const [key, name] of appEvents) {
      expect(bindingsSource, key).toContain(`${key}: "${name}"`);
    }
  });

  it('deliver broadcast progress', async () => {
    mockCommands({});
    const seen = vi.fn();
    const off = onBroadcastProgress(seen);
    await flush();
    const counts = { total: 1, queued: 0, sent: 1, delivered: 0, read: 0, failed: 0, skipped: 0, cancelled: 0 };
    await emitEvent('broadcastProgress', { broadcastId: 2, counts });
    expect(seen).toHaveBeenCalledWith({ broadcastId: 2, counts });
    off();
  });

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
