import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { AttachmentCheck } from '$lib/ipc';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { message } from '../../test/fixtures';
import AttachmentSheet from './AttachmentSheet.svelte';

function checked(overrides: Partial<AttachmentCheck> = {}): AttachmentCheck {
  return {
    fileName: 'menu.png',
    sizeBytes: 48_000,
    mimeType: 'image/png',
    kind: 'image',
    kindLabel: 'photo',
    limit: '5 MB',
    captionAllowed: true,
    voiceAllowed: false,
    error: null,
    preview: 'data:image/png;base64,iVBORw0KGgo=',
    ...overrides,
  };
}

function open(check: AttachmentCheck, handlers: Record<string, CommandHandler> = {}) {
  const log: CommandCall[] = [];
  mockCommands(
    {
      check_attachment: () => check,
      send_attachment: () =>
        message({ id: 70, conversationId: 4, direction: 'out', status: 'pending', kind: check.kind ?? 'document' }),
      ...handlers,
    },
    log,
  );
  const onsent = vi.fn();
  const onclose = vi.fn();
  const onwindowclosed = vi.fn();
  render(AttachmentSheet, {
    path: '/home/ana/menu.png',
    conversationId: 4,
    replyTo: null,
    onsent,
    onclose,
    onwindowclosed,
  });
  return { log, onsent, onclose, onwindowclosed };
}

describe('AttachmentSheet', () => {
  it('previews a photo and sends it with its caption', async () => {
    const user = userEvent.setup();
    const { log, onsent, onclose } = open(checked());
    expect(await screen.findByTestId('attachment-name')).toHaveTextContent('menu.png');
    expect(screen.getByTestId('attachment-facts')).toHaveTextContent('photo');
    expect(screen.getByTestId('attachment-facts')).toHaveTextContent('5 MB');
    expect(screen.getByTestId('attachment-thumb')).toHaveAttribute('src', 'data:image/png;base64,iVBORw0KGgo=');
    expect(screen.queryByTestId('attachment-voice')).toBeNull();
    await user.type(screen.getByTestId('attachment-caption'), 'Today');
    await user.click(screen.getByTestId('attachment-send'));
    await waitFor(() => {
      expect(onsent).toHaveBeenCalled();
    });
    expect(onclose).toHaveBeenCalled();
    expect(log.find((c) => c.cmd === 'check_attachment')?.args).toEqual({ path: '/home/ana/menu.png' });
    expect(log.find((c) => c.cmd === 'send_attachment')?.args).toEqual({
      conversationId: 4,
      replyTo: null,
      attachment: { path: '/home/ana/menu.png', caption: 'Today', filename: null, voice: false },
    });
  });

  it('shows why a refused file cannot be sent, and offers no Send', async () => {
    open(
      checked({
        fileName: 'big.png',
        kind: 'image',
        error: 'the file is 6 MB; WhatsApp accepts at most 5 MB for a photo',
        captionAllowed: true,
        preview: null,
      }),
    );
    expect(await screen.findByTestId('attachment-error')).toHaveTextContent('at most 5 MB for a photo');
    expect(screen.queryByTestId('attachment-send')).toBeNull();
    expect(screen.queryByTestId('attachment-caption')).toBeNull();
  });

  it('hides the caption for audio and offers a voice note only for OGG/Opus', async () => {
    const user = userEvent.setup();
    const { log } = open(
      checked({
        fileName: 'note.ogg',
        mimeType: 'audio/ogg',
        kind: 'audio',
        kindLabel: 'audio',
        limit: '16 MB',
        captionAllowed: false,
        voiceAllowed: true,
        preview: null,
      }),
    );
    await user.click(await screen.findByTestId('attachment-voice'));
    expect(screen.queryByTestId('attachment-caption')).toBeNull();
    expect(screen.queryByTestId('attachment-thumb')).toBeNull();
    await user.click(screen.getByTestId('attachment-send'));
    await waitFor(() => {
      expect(log.some((c) => c.cmd === 'send_attachment')).toBe(true);
    });
    expect(log.find((c) => c.cmd === 'send_attachment')?.args).toMatchObject({
      attachment: { caption: null, voice: true },
    });
  });

  it('offers no voice note for other audio (MP3)', async () => {
    open(
      checked({
        fileName: 'song.mp3',
        mimeType: 'audio/mpeg',
        kind: 'audio',
        kindLabel: 'audio',
        captionAllowed: false,
        voiceAllowed: false,
        preview: null,
      }),
    );
    expect(await screen.findByTestId('attachment-send')).toBeInTheDocument();
    expect(screen.queryByTestId('attachment-voice')).toBeNull();
    expect(screen.queryByTestId('attachment-caption')).toBeNull();
  });

  it('shows the send error and keeps the sheet open', async () => {
    const user = userEvent.setup();
    const { onclose } = open(checked(), {
      send_attachment: () => Promise.reject({ kind: 'invalidInput', message: 'the file changed' }),
    });
    await user.click(await screen.findByTestId('attachment-send'));
    expect(await screen.findByTestId('attachment-error')).toHaveTextContent('the file changed');
    expect(onclose).not.toHaveBeenCalled();
  });
});
