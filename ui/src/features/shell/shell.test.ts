import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import App from '../../App.svelte';
import { emitEvent, mockCommands, type CommandHandler } from '$lib/ipc/testing';
import { session } from '$lib/stores/session.svelte';
import { account, contact, conversation, phoneNumber, template } from '../../test/fixtures';
import Settings from '$features/settings/Settings.svelte';
import Templates from '$features/templates/Templates.svelte';
import { prefetchScreens, screens } from './screens';

const signedInHandlers = (numbers = [phoneNumber()]): Record<string, CommandHandler> => ({
  session_state: () => ({ kind: 'signedIn', account: account({ numbers }) }),
  sync_state: () => ({ state: 'online' }),
  outbox_count: () => 0,
  list_conversations: () => ({ items: [], next: null }),
  list_templates: () => [template(1)],
});

describe('App shell', () => {
  it('asks for the passphrase when there is no keyring', async () => {
    mockCommands({ session_state: () => ({ kind: 'needsPassphrase', firstRun: false }) });
    render(App);
    expect(await screen.findByTestId('passphrase')).toBeInTheDocument();
    expect(screen.queryByTestId('passphrase-confirm')).toBeNull();
  });

  it('shows the account screens when signed out', async () => {
    mockCommands({
      session_state: () => ({ kind: 'signedOut', lastRelayUrl: null, defaultRelayUrl: 'https://relay.example' }),
    });
    render(App);
    expect(await screen.findByTestId('register-relay')).toHaveValue('https://relay.example');
  });

  it('offers a retry when the session cannot be read', async () => {
    let fail = true;
    mockCommands({
      session_state: () =>
        fail
          ? Promise.reject({ kind: 'internal', message: 'disk full' })
          : { kind: 'needsPassphrase', firstRun: true },
    });
    render(App);
    expect(await screen.findByRole('alert')).toHaveTextContent('disk full');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('passphrase-confirm')).toBeInTheDocument();
  });

  it('signed in without a number: starts on Connect WhatsApp', async () => {
    mockCommands(signedInHandlers([]));
    render(App);
    expect(await screen.findByTestId('connect-whatsapp')).toBeInTheDocument();
  });

  it('signed in: rail navigation, sync banner and outbox count follow events', async () => {
    mockCommands({ ...signedInHandlers(), outbox_count: () => 2 });
    render(App);
    expect(await screen.findByTestId('inbox-empty')).toBeInTheDocument();
    expect(screen.queryByTestId('sync-banner')).toBeNull();
    expect(await screen.findByTestId('outbox-count')).toHaveTextContent('2 to send');

    await emitEvent('syncStateChanged', { state: 'offline', retryInSeconds: 12 });
    const banner = await screen.findByTestId('sync-banner');
    expect(banner).toHaveAttribute('data-state', 'offline');
    expect(banner).toHaveTextContent('Offline — retrying in 12 s');
    expect(banner).toHaveTextContent('Outbox: 2');

    await emitEvent('syncStateChanged', { state: 'catchingUp', applied: 1200 });
    await waitFor(() => {
      expect(screen.getByTestId('sync-banner')).toHaveTextContent('Catching up… 1,200 updates applied');
    });
    await emitEvent('syncStateChanged', { state: 'online' });
    await waitFor(() => {
      expect(screen.queryByTestId('sync-banner')).toBeNull();
    });

    await fireEvent.click(screen.getByTestId('nav-templates'));
    expect(await screen.findByTestId('template-row')).toBeInTheDocument();
    expect(screen.getByTestId('nav-templates')).toHaveAttribute('aria-current', 'page');
    await fireEvent.click(screen.getByTestId('nav-settings'));
    expect(await screen.findByTestId('account-summary')).toHaveTextContent('Lumen Flowers');
    await fireEvent.click(screen.getByTestId('nav-inbox'));
    expect(await screen.findByTestId('inbox-empty')).toBeInTheDocument();
  });

  it('a workspace its owner deleted: the banner says so and erases this copy after a confirmation', async () => {
    const calls = mockCommands({
      ...signedInHandlers(),
      erase_deleted_workspace: () => ({
        kind: 'signedOut',
        lastRelayUrl: null,
        defaultRelayUrl: 'https://relay.example',
      }),
    });
    render(App);
    await screen.findByTestId('inbox-empty');
    await emitEvent('syncStateChanged', { state: 'workspaceDeleted' });
    const banner = await screen.findByTestId('sync-banner');
    expect(banner).toHaveAttribute('data-state', 'workspaceDeleted');
    expect(banner).toHaveTextContent('The owner deleted this workspace');
    await fireEvent.click(screen.getByTestId('erase-copy'));
    expect(calls.filter((c) => c === 'erase_deleted_workspace')).toHaveLength(0);
    expect(banner).toHaveTextContent('cannot be undone');
    await fireEvent.click(screen.getByTestId('erase-copy-confirm'));
    // A first run afterwards: the account screens.
    expect(await screen.findByTestId('register-relay')).toHaveValue('https://relay.example');
    expect(calls.filter((c) => c === 'erase_deleted_workspace')).toHaveLength(1);
  });

  it('says when the shell refused a deep link, until dismissed', async () => {
    mockCommands(signedInHandlers());
    render(App);
    await screen.findByTestId('inbox-empty');
    await emitEvent('deepLinkRejected', { reason: 'unknown onboarding session' });
    const notice = await screen.findByTestId('deep-link-rejected');
    expect(notice).toHaveTextContent('A DataOptix link was not accepted: unknown onboarding session');
    await fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('deep-link-rejected')).toBeNull();
  });

  it('contacts and activity are on the rail; "Open conversation" shows it in the inbox', async () => {
    const customer = contact(7, { name: 'Ana Souza' });
    const detail = {
      contact: customer,
      displayName: null,
      profileName: 'Ana Souza',
      conversationId: 7,
      lastSeenAt: null,
      messageCount: 1,
    };
    mockCommands({
      ...signedInHandlers(),
      list_conversations: () => ({ items: [conversation(7, { contact: customer })], next: null }),
      conversation: () => conversation(7, { contact: customer }),
      list_messages: () => ({ items: [], next: null }),
      set_open_conversation: () => null,
      list_contacts: () => ({ items: [detail], next: null }),
      contact_detail: () => detail,
      list_activity: () => ({
        items: [{ id: 1, ts: 1, actor: 'system', action: 'privacy.export', subject: null, details: '{}' }],
        next: null,
      }),
    });
    render(App);
    await fireEvent.click(await screen.findByTestId('nav-activity'));
    expect(await screen.findByTestId('activity-row')).toHaveTextContent('Exported data');
    await fireEvent.click(screen.getByTestId('nav-contacts'));
    expect(screen.getByTestId('nav-contacts')).toHaveAttribute('aria-current', 'page');
    await fireEvent.click(await screen.findByTestId('contact-row'));
    await fireEvent.click(await screen.findByTestId('contact-open-conversation'));
    expect(screen.getByTestId('nav-inbox')).toHaveAttribute('aria-current', 'page');
    expect(await screen.findByRole('region', { name: 'Conversation with Ana Souza' })).toBeInTheDocument();
  });

  it('deleting the account returns to the account screens', async () => {
    mockCommands({
      ...signedInHandlers(),
      retention: () => ({ messagesDays: null, mediaDays: null, rawEventsDays: null }),
      team: () => Promise.reject({ kind: 'relayUnreachable', message: 'offline' }),
      delete_account: () => ({ kind: 'signedOut', lastRelayUrl: null, defaultRelayUrl: 'https://relay.lumen.example' }),
    });
    render(App);
    await fireEvent.click(await screen.findByTestId('nav-settings'));
    await fireEvent.input(await screen.findByTestId('delete-account-confirm'), { target: { value: account().company } });
    await fireEvent.click(screen.getByTestId('delete-account'));
    // A first run: the account screens, no signed-in rail.
    await waitFor(() => {
      expect(screen.queryByTestId('nav-settings')).toBeNull();
    });
    expect(session.phase.kind).toBe('signedOut');
  });

  it('signing out returns to the account screens', async () => {
    let signedIn = true;
    mockCommands({
      ...signedInHandlers(),
      session_state: () =>
        signedIn
          ? { kind: 'signedIn', account: account() }
          : { kind: 'signedOut', lastRelayUrl: 'https://relay.lumen.example', defaultRelayUrl: null },
      sign_out: () => {
        signedIn = false;
        return null;
      },
    });
    render(App);
    await fireEvent.click(await screen.findByTestId('nav-settings'));
    await fireEvent.click(await screen.findByTestId('sign-out'));
    expect(await screen.findByTestId('signin-relay')).toHaveValue('https://relay.lumen.example');
    expect(session.account).toBeNull();
  });
});

describe('Screens loaded on demand', () => {
  it('a screen whose code fails to load says so, and loads on retry', async () => {
    mockCommands(signedInHandlers());
    const load = vi.spyOn(screens, 'templates').mockRejectedValueOnce(new TypeError('Importing a module script failed.'));
    render(App);
    await fireEvent.click(await screen.findByTestId('nav-templates'));
    expect(await screen.findByRole('alert')).toHaveTextContent('This screen could not be loaded.');
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('template-row')).toBeInTheDocument();
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('prefetches every screen one after another once the delay has passed, unless cancelled', async () => {
    vi.useFakeTimers();
    try {
      const started: string[] = [];
      let finishFirst = (): void => undefined;
      const loaders = [
        () => {
          started.push('a');
          return new Promise<never>((_, reject) => {
            finishFirst = () => {
              reject(new Error('offline'));
            };
          });
        },
        () => {
          started.push('b');
          return Promise.resolve({ default: Templates });
        },
      ];
      prefetchScreens(1000, loaders);
      await vi.advanceTimersByTimeAsync(999);
      expect(started).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(started).toEqual(['a']);
      finishFirst(); // a failure does not stop the others
      await vi.advanceTimersByTimeAsync(0);
      expect(started).toEqual(['a', 'b']);

      const cancelledStarts: string[] = [];
      const cancel = prefetchScreens(1000, [() => (cancelledStarts.push('c'), Promise.resolve({ default: Templates }))]);
      cancel();
      await vi.advanceTimersByTimeAsync(2000);
      expect(cancelledStarts).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Templates', () => {
  it('lists every template with its status badge and rejection reason', async () => {
    mockCommands({
      list_templates: (args) => {
        expect(args?.approvedOnly).toBe(false);
        return [
          template(2, { name: 'spring_sale', status: 'REJECTED', rejectedReason: 'PROMOTIONAL', category: 'MARKETING' }),
          template(1, { name: 'order_ready' }),
          template(3, { name: 'new_hours', status: 'PENDING' }),
        ];
      },
    });
    render(Templates);
    const rows = await screen.findAllByTestId('template-row');
    expect(rows.map((r) => r.getAttribute('data-name'))).toEqual(['new_hours', 'order_ready', 'spring_sale']);
    const statuses = screen.getAllByTestId('template-status');
    expect(statuses.map((s) => s.textContent.trim())).toEqual(['In review', 'Approved', 'Rejected']);
    expect(rows[2]).toHaveTextContent('Rejected: PROMOTIONAL');
    expect(rows[1]).toHaveTextContent('Hi {{1}}, your order {{2}} is ready.');
  });

  it('has an empty state and an error state with retry', async () => {
    let fail = true;
    mockCommands({
      list_templates: () => (fail ? Promise.reject({ kind: 'internal', message: 'sync broke' }) : []),
    });
    render(Templates);
    expect(await screen.findByRole('alert')).toHaveTextContent('sync broke');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('templates-empty')).toBeInTheDocument();
  });
});

describe('Settings', () => {
  it('summarises the account and numbers with quality and limit', () => {
    render(Settings, {
      account: account({
        role: 'agent',
        numbers: [phoneNumber({ qualityRating: 'YELLOW', messagingLimit: 'UNLIMITED', reconnectRequired: true })],
      }),
      onnumberconnected: () => undefined,
      onsignout: () => Promise.resolve(),
    });
    const summary = screen.getByTestId('account-summary');
    expect(summary).toHaveTextContent('Ana Owner');
    expect(summary).toHaveTextContent('Agent');
    expect(summary).toHaveTextContent('https://relay.lumen.example');
    const number = screen.getByTestId('settings-number');
    expect(number).toHaveTextContent('Quality: medium');
    expect(number).toHaveTextContent('Unlimited conversations');
    expect(number).toHaveTextContent('Reconnect required');
  });
});
