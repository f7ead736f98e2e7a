import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationSummary, MessageView } from '$lib/ipc';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { conversation, message, NOW_S, template } from '../../test/fixtures';
import { ThreadStore } from './inbox.svelte';
import Thread from './Thread.svelte';

const NOW_MS = NOW_S * 1000;

// The fixtures' windows are relative to NOW_S: pin the clock there (timers stay real).
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW_MS);
});
afterEach(() => {
  vi.useRealTimers();
});

async function openThread(
  convo: ConversationSummary,
  handlers: Record<string, CommandHandler>,
  messages: MessageView[] = [message({ id: 1, conversationId: convo.id, text: 'Do you deliver?' })],
) {
  const log: CommandCall[] = [];
  mockCommands({ list_messages: () => ({ items: messages, next: null }), ...handlers }, log);
  const thread = new ThreadStore();
  await thread.open(convo.id);
  const onsent = vi.fn();
  render(Thread, { conversation: convo, thread, onsent });
  return { log, thread, onsent };
}

function sent(body: string, overrides: Partial<MessageView> = {}): MessageView {
  return message({ id: 99, conversationId: 1, direction: 'out', text: body, status: 'pending', ts: NOW_S, ...overrides });
}

describe('24-hour window', () => {
  it('counts down live and switches to templates when the window closes', async () => {
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(NOW_MS);
    await openThread(conversation(1, { window: { open: true, expiresAt: NOW_S + 3 * 3600 + 12 * 60 } }), {
      list_templates: () => [template(1)],
    });
    expect(screen.getByTestId('window-state')).toHaveTextContent('Window open · 3 h 12 m left');
    expect(screen.getByTestId('composer-input')).toBeInTheDocument();

    await vi.advanceTimersByTimeAsync(61_000);
    expect(screen.getByTestId('window-state')).toHaveTextContent('Window open · 3 h 11 m left');

    await vi.advanceTimersByTimeAsync((3 * 3600 + 11 * 60) * 1000);
    expect(screen.getByTestId('window-state')).toHaveTextContent('Window closed');
    expect(screen.queryByTestId('composer-input')).toBeNull();
    await vi.advanceTimersByTimeAsync(0);
    expect(screen.getByTestId('template-picker')).toBeInTheDocument();
  });

  it('a closed window shows the template panel instead of the composer', async () => {
    await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: () => [template(1)],
    });
    expect(screen.getByTestId('window-state')).toHaveTextContent('Window closed');
    expect(screen.queryByTestId('composer-input')).toBeNull();
    expect(await screen.findByTestId('template-picker')).toBeInTheDocument();
  });
});

describe('composer', () => {
  it('Enter sends, Shift+Enter adds a line, and the pending message is appended', async () => {
    const { log, onsent } = await openThread(conversation(1), {
      send_message: (args) => {
        const m = args?.message as { body: string };
        return sent(m.body);
      },
    });
    const user = userEvent.setup();
    const input = screen.getByTestId('composer-input');
    await user.type(input, 'First line{Shift>}{Enter}{/Shift}second line');
    expect(log.filter((c) => c.cmd === 'send_message')).toHaveLength(0);
    expect(input).toHaveValue('First line\nsecond line');

    await user.keyboard('{Enter}');
    await waitFor(() => {
      expect(onsent).toHaveBeenCalled();
    });
    expect(log.find((c) => c.cmd === 'send_message')?.args).toEqual({
      conversationId: 1,
      message: { type: 'text', body: 'First line\nsecond line', previewUrl: false },
      replyTo: null,
    });
    expect(input).toHaveValue('');
    const appended = screen.getAllByTestId('message').at(-1);
    expect(appended).toHaveAttribute('data-wamid', 'wamid.test-99');
    expect(appended).toHaveAttribute('data-status', 'pending');
  });

  it('the send button sends, links ask for a preview, and an empty message cannot be sent', async () => {
    const { log } = await openThread(conversation(1), {
      send_message: () => sent('x'),
    });
    const user = userEvent.setup();
    expect(screen.getByTestId('composer-send')).toBeDisabled();
    await user.type(screen.getByTestId('composer-input'), 'See https://lumen.example');
    await user.click(screen.getByTestId('composer-send'));
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'send_message')).toBe(true);
    });
    expect(log.find((c) => c.cmd === 'send_message')?.args?.message).toEqual({
      type: 'text',
      body: 'See https://lumen.example',
      previewUrl: true,
    });
  });

  it('replies quote the chosen message; Escape drops the quote', async () => {
    const { log } = await openThread(conversation(1), { send_message: () => sent('Yes') });
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Reply' }));
    expect(screen.getByTestId('reply-chip')).toHaveTextContent('Do you deliver?');
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('reply-chip')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Reply' }));
    await user.type(screen.getByTestId('composer-input'), 'Yes{Enter}');
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'send_message')?.args?.replyTo).toBe('wamid.test-1');
    });
    await waitFor(() => {
      expect(screen.queryByTestId('reply-chip')).toBeNull();
    });
  });

  it('a draft stays with its conversation', async () => {
    mockCommands({ list_messages: () => ({ items: [], next: null }) });
    const thread = new ThreadStore();
    await thread.open(1);
    const view = render(Thread, { conversation: conversation(1), thread, onsent: vi.fn() });
    const user = userEvent.setup();
    await user.type(screen.getByTestId('composer-input'), 'For customer one');
    await thread.open(2);
    await view.rerender({ conversation: conversation(2), thread, onsent: vi.fn() });
    expect(screen.getByTestId('composer-input')).toHaveValue('');
  });

  it('inserts emoji from the built-in picker', async () => {
    await openThread(conversation(1), {});
    const user = userEvent.setup();
    await user.type(screen.getByTestId('composer-input'), 'Thanks ');
    await user.click(screen.getByRole('button', { name: 'Emoji' }));
    await user.click(screen.getByRole('button', { name: 'Insert 🙏' }));
    expect(screen.getByTestId('composer-input')).toHaveValue('Thanks 🙏');
    expect(screen.queryByRole('dialog', { name: 'Emoji' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Emoji' }));
    expect(screen.getByRole('dialog', { name: 'Emoji' })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog', { name: 'Emoji' })).toBeNull();
  });

  it('a windowClosed refusal replaces the composer with the template panel', async () => {
    await openThread(conversation(1), {
      send_message: () => Promise.reject({ kind: 'windowClosed', message: '131047' }),
      list_templates: () => [template(1)],
    });
    const user = userEvent.setup();
    await user.type(screen.getByTestId('composer-input'), 'Hello again{Enter}');
    expect(await screen.findByTestId('template-picker')).toBeInTheDocument();
    expect(screen.queryByTestId('composer-input')).toBeNull();
  });

  it('other refusals are explained and keep the text', async () => {
    await openThread(conversation(1), {
      send_message: () => Promise.reject({ kind: 'restricted', message: 'user restricted' }),
    });
    const user = userEvent.setup();
    await user.type(screen.getByTestId('composer-input'), 'Hello{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('can’t receive messages');
    expect(screen.getByTestId('composer-input')).toHaveValue('Hello');
  });
});

describe('template panel', () => {
  it('offers approved templates, previews with the values, and sends', async () => {
    const renders: unknown[] = [];
    const { log, onsent } = await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: (args) => {
        expect(args?.approvedOnly).toBe(true);
        return [
          template(1, { name: 'order_ready', paramCount: 2, headerParamCount: 1 }),
          template(2, { name: 'old_promo', status: 'PAUSED' }),
        ];
      },
      render_template: (args) => {
        renders.push(args);
        const [name, order] = (args?.params as string[] | undefined) ?? [];
        const [header] = (args?.headerParams as string[] | undefined) ?? [];
        return {
          header: `Order ${header ?? ''}`,
          body: `Hi ${name ?? ''}, your order ${order ?? ''} is ready.`,
          footer: 'Lumen Flowers',
          buttons: ['Track'],
        };
      },
      send_message: () =>
        sent('Hi Lucía, your order 42 is ready.', { kind: 'template' }),
    });
    const user = userEvent.setup();
    const options = await screen.findAllByTestId('template-option');
    expect(options.map((o) => o.getAttribute('data-name'))).toEqual(['order_ready']);

    await user.click(options[0] as HTMLElement);
    const params = screen.getAllByTestId('template-param');
    expect(params).toHaveLength(3);
    expect(screen.getByTestId('template-send')).toBeDisabled();
    await user.type(params[0] as HTMLElement, '#42');
    await user.type(params[1] as HTMLElement, 'Lucía');
    await user.type(params[2] as HTMLElement, '42');

    const preview = screen.getByTestId('template-preview');
    await waitFor(() => {
      expect(preview).toHaveTextContent('Hi Lucía, your order 42 is ready.');
    });
    expect(preview).toHaveTextContent('Order #42');
    expect(preview).toHaveTextContent('Track');
    expect(renders.at(-1)).toEqual({
      templateId: 1,
      params: ['Lucía', '42'],
      headerParams: ['#42'],
      buttonParams: [],
      headerMediaChosen: false,
    });

    await user.click(screen.getByTestId('template-send'));
    await waitFor(() => {
      expect(onsent).toHaveBeenCalled();
    });
    expect(log.find((c) => c.cmd === 'send_message')?.args).toEqual({
      conversationId: 1,
      message: {
        type: 'template',
        name: 'order_ready',
        language: 'en_US',
        params: ['Lucía', '42'],
        headerParams: ['#42'],
        headerMedia: null,
        buttonParams: [],
      },
      replyTo: null,
    });
    const last = screen.getAllByTestId('message').at(-1);
    expect(last).toHaveAttribute('data-status', 'pending');
    expect(within(last as HTMLElement).getByTestId('message-text')).toHaveTextContent('your order 42');
  });

  it('asks for the picture of an image header and the value of a link button', async () => {
    const offer = template(5, {
      name: 'weekend_offer',
      paramCount: 1,
      headerFormat: 'IMAGE',
      buttons: [
        { kind: 'URL', text: 'Order now', url: 'https://b.example/o/{{1}}', takesValue: true },
        { kind: 'QUICK_REPLY', text: 'Stop promotions', url: null, takesValue: false },
      ],
    });
    const check = (fileName: string, kind: string, mime: string) => ({
      fileName,
      sizeBytes: 2048,
      mimeType: mime,
      kind,
      kindLabel: kind,
      limit: '5 MB',
      captionAllowed: true,
      voiceAllowed: false,
      error: null,
      preview: null,
    });
    let picks = 0;
    const renders: Record<string, unknown>[] = [];
    const { log } = await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: () => [offer],
      render_template: (args) => {
        renders.push(args ?? {});
        return { header: '[IMAGE]', body: 'Hi', footer: null, buttons: ['Order now'], missing: [] };
      },
      // The first file is a PDF, the second the picture.
      pick_attachment: () => (++picks === 1 ? '/home/ana/menu.pdf' : '/home/ana/cake.png'),
      check_attachment: (args) =>
        args?.path === '/home/ana/menu.pdf'
          ? check('menu.pdf', 'document', 'application/pdf')
          : check('cake.png', 'image', 'image/png'),
      send_message: () => sent('Hi Maria', { kind: 'template' }),
    });
    const user = userEvent.setup();
    await user.click((await screen.findAllByTestId('template-option'))[0] as HTMLElement);
    await user.type(screen.getByTestId('template-param'), 'Maria');
    const buttonValue = screen.getByTestId('template-button-param');
    expect(buttonValue.closest('label')).toHaveTextContent('End of the “Order now” link (https://b.example/o/{{1}})');
    await user.type(buttonValue, 'spring');
    // No picture yet: nothing to send.
    expect(screen.getByTestId('template-send')).toBeDisabled();

    await user.click(screen.getByTestId('template-header-pick'));
    expect(await screen.findByTestId('template-header-error')).toHaveTextContent(
      'This template needs a JPEG or PNG picture here; menu.pdf is not one.',
    );
    expect(screen.getByTestId('template-send')).toBeDisabled();
    await user.click(screen.getByTestId('template-header-pick'));
    expect(await screen.findByTestId('template-header-file')).toHaveTextContent('cake.png');
    expect(screen.queryByTestId('template-header-error')).toBeNull();
    await waitFor(() => {
      expect(renders.at(-1)).toMatchObject({ buttonParams: ['spring'], headerMediaChosen: true });
    });
    expect(screen.getByTestId('template-preview')).toHaveTextContent('[IMAGE]');

    await user.click(screen.getByTestId('template-send'));
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'send_message')).toBe(true);
    });
    expect(log.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
      message: {
        type: 'template',
        name: 'weekend_offer',
        params: ['Maria'],
        headerMedia: { source: 'file', path: '/home/ana/cake.png', filename: null },
        buttonParams: ['spring'],
      },
    });
  });

  it('takes a web address for the header instead, https only', async () => {
    const offer = template(6, { name: 'menu_pdf', paramCount: 0, bodyText: 'Our new menu', headerFormat: 'DOCUMENT' });
    const { log } = await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: () => [offer],
      render_template: () => ({ header: '[DOCUMENT]', body: 'Our new menu', footer: null, buttons: [], missing: [] }),
      send_message: () => sent('Our new menu', { kind: 'template' }),
    });
    const user = userEvent.setup();
    await user.click((await screen.findAllByTestId('template-option'))[0] as HTMLElement);
    await user.click(screen.getByTestId('template-header-from-link'));
    const link = screen.getByTestId('template-header-link');
    await user.type(link, 'http://b.example/menu.pdf');
    expect(screen.getByTestId('template-send')).toBeDisabled();
    await user.clear(link);
    await user.type(link, 'https://b.example/menu.pdf');
    expect(screen.getByTestId('template-send')).toBeEnabled();
    await user.click(screen.getByTestId('template-send'));
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
        message: { headerMedia: { source: 'link', url: 'https://b.example/menu.pdf', filename: null } },
      });
    });
  });

  it('says when there is no approved template', async () => {
    await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: () => [],
    });
    expect(await screen.findByTestId('template-none')).toHaveTextContent('No approved templates yet');
  });
});

describe('thread', () => {
  it('loads older pages by itself while the history does not fill the view', async () => {
    // jsdom has no layout: give the thread a 600 px view holding 300 px of messages.
    const clientHeight = vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(600);
    const scrollHeight = vi.spyOn(HTMLElement.prototype, 'scrollHeight', 'get').mockReturnValue(300);
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) =>
          args?.before === null
            ? { items: [message({ id: 2, ts: 20, text: 'newer' })], next: { ts: 20, id: 2 } }
            : { items: [message({ id: 1, ts: 10, text: 'older' })], next: null },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    render(Thread, { conversation: conversation(1), thread, onsent: vi.fn() });
    await waitFor(() => {
      expect(screen.getAllByTestId('message-text').map((el) => el.textContent)).toEqual(['older', 'newer']);
    });
    expect(log.filter((c) => c.cmd === 'list_messages')).toHaveLength(2);
    clientHeight.mockRestore();
    scrollHeight.mockRestore();
  });

  it('shows newest at the bottom and loads older pages on scroll up', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) =>
          args?.before === null
            ? { items: [message({ id: 3, ts: 30, text: 'newest' }), message({ id: 2, ts: 20, text: 'middle' })], next: { ts: 20, id: 2 } }
            : { items: [message({ id: 1, ts: 10, text: 'oldest' })], next: null },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    render(Thread, { conversation: conversation(1), thread, onsent: vi.fn() });
    let texts = screen.getAllByTestId('message-text').map((el) => el.textContent);
    expect(texts).toEqual(['middle', 'newest']);

    const scroller = screen.getByTestId('thread');
    scroller.scrollTop = 0;
    scroller.dispatchEvent(new Event('scroll'));
    await waitFor(() => {
      texts = screen.getAllByTestId('message-text').map((el) => el.textContent);
      expect(texts).toEqual(['oldest', 'middle', 'newest']);
    });
    expect(screen.getByText('Start of the conversation')).toBeInTheDocument();
  });
});

describe('long history', () => {
  it('far into the past, a button brings back the newest messages', async () => {
    const page = (from: number) =>
      Array.from({ length: 50 }, (_, i) => message({ id: from - i, ts: (from - i) * 10, text: `m${String(from - i)}` }));
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_messages: (args) => {
          const before = args?.before as { id: number } | null;
          const top = before === null ? 1000 : before.id - 1;
          return { items: page(top), next: { ts: (top - 49) * 10, id: top - 49 } };
        },
      },
      log,
    );
    const thread = new ThreadStore();
    await thread.open(1);
    render(Thread, { conversation: conversation(1), thread, onsent: vi.fn() });
    expect(screen.queryByTestId('thread-latest')).toBeNull();
    for (let i = 0; i < 7; i++) await thread.loadOlder();
    const latest = await screen.findByTestId('thread-latest');
    // The newest messages left the page; at most MAX_LOADED are rendered.
    await waitFor(() => {
      expect(screen.getAllByTestId('message')).toHaveLength(300);
    });
    expect(screen.queryByText('m1000')).toBeNull();
    const user = userEvent.setup();
    await user.click(latest);
    await waitFor(() => {
      expect(screen.getByText('m1000')).toBeInTheDocument();
    });
    expect(screen.queryByTestId('thread-latest')).toBeNull();
    expect(log.at(-1)?.args).toMatchObject({ before: null });
  });
});

describe('reactions', () => {
  const OPEN = { window: { open: true, expiresAt: NOW_S + 3600 } };

  it('reacts from the message, shows our reaction as chosen, and takes it back', async () => {
    const inbound = message({ id: 1, conversationId: 1, text: 'Do you deliver?', wamid: 'wamid.IN1' });
    const reacted = { ...inbound, reactions: [{ emoji: '👍', by: 'me' }] };
    const { log } = await openThread(conversation(1, OPEN), { send_message: () => reacted }, [inbound]);
    const user = userEvent.setup();
    await user.click(screen.getByTestId('react'));
    const choices = screen.getAllByTestId('reaction-choice');
    expect(choices.map((c) => c.textContent)).toContain('👍');
    expect(screen.queryByTestId('reaction-remove')).toBeNull();
    const thumbsUp = choices.find((c) => c.textContent === '👍');
    expect(thumbsUp).toBeDefined();
    if (thumbsUp) await user.click(thumbsUp);
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'send_message')).toBe(true);
    });
    const call = log.find((c) => c.cmd === 'send_message');
    expect(call?.args).toMatchObject({
      conversationId: 1,
      message: { type: 'reaction', messageWamid: 'wamid.IN1', emoji: '👍' },
      replyTo: null,
    });
    // The message came back with our reaction under it; the picker knows it is ours.
    expect(await screen.findByTestId('reaction')).toHaveTextContent('👍');
    await user.click(screen.getByTestId('react'));
    expect(screen.getAllByTestId('reaction-choice')[0]).toHaveAttribute('aria-pressed', 'true');
    // Escape closes it without reacting.
    screen.getAllByTestId('reaction-choice')[0]?.focus();
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('reaction-picker')).toBeNull();
    const sends = log.filter((c) => c.cmd === 'send_message').length;
    await user.click(screen.getByTestId('react'));
    expect(log.filter((c) => c.cmd === 'send_message')).toHaveLength(sends);
    await user.click(screen.getByTestId('reaction-remove'));
    await waitFor(() => {
      expect(log.filter((c) => c.cmd === 'send_message').at(-1)?.args).toMatchObject({
        message: { type: 'reaction', messageWamid: 'wamid.IN1', emoji: '' },
      });
    });
  });

  it('offers no reaction while the window is closed, and says when one was refused', async () => {
    const inbound = message({ id: 1, conversationId: 1, text: 'Hi', wamid: 'wamid.IN2' });
    const closed = await openThread(conversation(1, { window: { open: false, expiresAt: null } }), {
      list_templates: () => [template(1)],
    }, [inbound]);
    expect(screen.queryByTestId('react')).toBeNull();
    expect(closed.log.some((c) => c.cmd === 'send_message')).toBe(false);
  });

  it('shows a refused reaction as the core said it', async () => {
    const inbound = message({ id: 1, conversationId: 1, text: 'Hi', wamid: 'wamid.IN3' });
    await openThread(
      conversation(1, OPEN),
      { send_message: () => Promise.reject({ kind: 'windowClosed', message: 'the 24-hour window is closed' }) },
      [inbound],
    );
    const user = userEvent.setup();
    await user.click(screen.getByTestId('react'));
    await user.click(screen.getAllByTestId('reaction-choice')[1] ?? screen.getByTestId('react'));
    expect(await screen.findByTestId('reaction-error')).toHaveTextContent('the 24-hour window is closed');
  });
});
