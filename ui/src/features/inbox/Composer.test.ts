import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { QuickReplyView } from '$lib/ipc';
import { emitEvent, mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import Composer from './Composer.svelte';

const REPLIES: QuickReplyView[] = [
  { id: 'q1', shortcut: '/hours', text: 'Open 8–18, Sundays 8–11.' },
  { id: 'q2', shortcut: '/hello', text: 'Hello! How can we help?' },
  { id: 'q3', shortcut: '/thanks', text: 'Thank you!' },
];

function setup(handlers: Record<string, CommandHandler> = {}) {
  const log: CommandCall[] = [];
  mockCommands({ quick_replies: () => REPLIES, ...handlers }, log);
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

describe('Composer typing hint', () => {
  it('asks the core to show "typing…" once while the member writes, not per keystroke', async () => {
    const user = userEvent.setup();
    const log = setup({ show_typing: () => null });
    const input = screen.getByTestId('composer-input');
    await user.type(input, 'We open at nine');
    const typing = log.filter((c) => c.cmd === 'show_typing');
    expect(typing).toHaveLength(1);
    expect(typing[0]?.args).toEqual({ conversationId: 3 });
  });

  it('sends no hint for blank input, and a refused hint does not disturb writing', async () => {
    const user = userEvent.setup();
    const log = setup({ show_typing: () => Promise.reject({ kind: 'internal', message: 'offline' }) });
    const input = screen.getByTestId('composer-input');
    await user.type(input, '   ');
    expect(log.some((c) => c.cmd === 'show_typing')).toBe(false);
    await user.type(input, 'ok');
    expect(input).toHaveValue('   ok');
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('Composer attachments', () => {
  const check = {
    fileName: 'prices.pdf',
    sizeBytes: 2048,
    mimeType: 'application/pdf',
    kind: 'document',
    kindLabel: 'document',
    limit: '100 MB',
    captionAllowed: true,
    voiceAllowed: false,
    error: null,
    preview: null,
  };

  const withFiles = (picked: string | null) =>
    setup({ pick_attachment: () => picked, check_attachment: () => check });

  it('"Photo or file" in the + menu opens the picker, then the preview of the chosen file', async () => {
    const user = userEvent.setup();
    const log = withFiles('/home/ana/prices.pdf');
    await user.click(screen.getByTestId('composer-more'));
    await user.click(screen.getByTestId('compose-attachment'));
    expect(await screen.findByTestId('attachment-name')).toHaveTextContent('prices.pdf');
    expect(log.find((c) => c.cmd === 'check_attachment')?.args).toEqual({ path: '/home/ana/prices.pdf' });
  });

  it('a cancelled picker opens nothing', async () => {
    const user = userEvent.setup();
    const log = withFiles(null);
    await user.click(screen.getByTestId('composer-more'));
    await user.click(screen.getByTestId('compose-attachment'));
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'pick_attachment')).toBe(true);
    });
    expect(screen.queryByTestId('attachment-sheet')).toBeNull();
  });

  it('a file dropped on the window opens its preview', async () => {
    const log = withFiles(null);
    await emitEvent('filesDropped', { paths: ['/tmp/dropped.pdf'], position: { x: 10, y: 10 } });
    expect(await screen.findByTestId('attachment-sheet')).toBeInTheDocument();
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'check_attachment')?.args).toEqual({ path: '/tmp/dropped.pdf' });
    });
  });
});

describe('Composer voice notes', () => {
  it('the microphone button records in place of the bar; discarding brings the bar back', async () => {
    const user = userEvent.setup();
    mockCommands({ quick_replies: () => REPLIES });
    const start = vi.fn(() =>
      Promise.resolve({
        elapsedMs: () => 1_000,
        level: () => 0,
        stop: () => Promise.resolve({ samples: '', sampleRate: 16_000, durationMs: 1_000 }),
        cancel: vi.fn(),
      }),
    );
    render(Composer, {
      conversationId: 3,
      replyTo: null,
      onsent: vi.fn(),
      onclearreply: vi.fn(),
      onwindowclosed: vi.fn(),
      startRecording: start,
    });
    await user.click(screen.getByTestId('composer-record'));
    expect(await screen.findByTestId('voice-recorder')).toBeInTheDocument();
    expect(screen.queryByTestId('composer-input')).toBeNull();
    expect(start).toHaveBeenCalledOnce();
    await user.click(screen.getByTestId('voice-cancel'));
    expect(screen.queryByTestId('voice-recorder')).toBeNull();
    expect(screen.getByTestId('composer-input')).toBeInTheDocument();
  });
});
