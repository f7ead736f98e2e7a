import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import type { MediaView, MessageView } from '$lib/ipc';
import { message } from '../../test/fixtures';
import Message from './Message.svelte';
import { isVoice, mediaStateText, safeMediaUrl } from './media';

function media(overrides: Partial<MediaView>): MediaView {
  return {
    metaId: '9001',
    mimeType: 'image/png',
    fileName: null,
    sizeBytes: 1234,
    state: 'done',
    localUrl: 'media://localhost/12',
    error: null,
    voice: false,
    ...overrides,
  };
}

function show(overrides: Partial<MessageView>): void {
  render(Message, { message: message({ text: null, ...overrides }) });
}

describe('media URLs', () => {
  it('only the media protocol, by message id', () => {
    expect(safeMediaUrl('media://localhost/12')).toBe('media://localhost/12');
    expect(safeMediaUrl('http://media.localhost/12')).toBe('http://media.localhost/12');
    for (const bad of [
      'javascript:alert(1)',
      'https://evil.example/x.png',
      'data:image/png;base64,AAAA',
      'media://localhost/../../etc/passwd',
      'media://evil.example/12',
      'file:///etc/passwd',
      'media://localhost/12?x=1',
    ]) {
      expect(safeMediaUrl(bad), bad).toBeNull();
    }
  });
});

describe('media states', () => {
  it('says why a file is unavailable', () => {
    expect(mediaStateText(media({ state: 'failed', error: 'the SHA-256 does not match', localUrl: null }))).toBe(
      'Unavailable: the SHA-256 does not match',
    );
    expect(mediaStateText(media({ state: 'failed', error: null, localUrl: null }))).toBe('Download failed');
    expect(mediaStateText(media({ state: 'downloading', localUrl: null }))).toBe('Downloading…');
    expect(mediaStateText(media({ state: 'pending', localUrl: null }))).toBe('Waiting to download');
  });

  it('a failed image shows the reason as text, never markup', () => {
    show({
      kind: 'image',
      media: media({ state: 'failed', localUrl: null, error: '<img src=x onerror=alert(1)> gone' }),
    });
    const placeholder = screen.getByTestId('media-placeholder');
    expect(placeholder).toHaveTextContent('Unavailable: <img src=x onerror=alert(1)> gone');
    expect(placeholder.querySelector('img')).toBeNull();
  });

  it('a downloading document shows its name, size and state', () => {
    show({
      kind: 'document',
      media: media({
        mimeType: 'application/pdf',
        fileName: 'invoice.pdf',
        sizeBytes: 2048,
        state: 'downloading',
        localUrl: null,
      }),
    });
    const doc = screen.getByTestId('document');
    expect(doc).toHaveTextContent('invoice.pdf');
    expect(doc).toHaveTextContent('2 KB');
    expect(doc).toHaveTextContent('Downloading…');
  });

  it('a downloaded document offers Save…, which asks the app to save that message', async () => {
    const log: CommandCall[] = [];
    mockCommands({ save_media: () => true }, log);
    show({ id: 77, kind: 'document', media: media({ mimeType: 'application/pdf', fileName: 'invoice.pdf' }) });
    await fireEvent.click(screen.getByTestId('save-media'));
    expect(await screen.findByTestId('save-result')).toHaveTextContent('Saved');
    expect(log).toEqual([{ cmd: 'save_media', args: { messageId: 77, fileName: 'invoice.pdf' } }]);
  });

  it('Save… shows why saving failed, and is not offered before the download', async () => {
    mockCommands({ save_media: () => Promise.reject({ kind: 'notFound', message: 'no downloaded media for this message' }) });
    show({ kind: 'document', media: media({ fileName: 'a.pdf' }) });
    await fireEvent.click(screen.getByTestId('save-media'));
    expect(await screen.findByTestId('save-result')).toHaveTextContent('no downloaded media for this message');
  });

  it('no Save… while downloading', () => {
    show({ kind: 'document', media: media({ fileName: 'a.pdf', state: 'downloading', localUrl: null }) });
    expect(screen.queryByTestId('save-media')).toBeNull();
  });

  it('an image opens larger on click and closes again', async () => {
    show({ kind: 'image', caption: 'our order', media: media({}) });
    expect(screen.queryByTestId('media-zoom')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Show larger' }));
    const zoom = screen.getByTestId('media-zoom');
    expect(zoom.querySelector('img')).toHaveAttribute('src', 'media://localhost/12');
    await fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByTestId('media-zoom')).toBeNull();
  });

  it('a sticker is an image without the zoom button', () => {
    show({ kind: 'sticker', media: media({ mimeType: 'image/webp' }) });
    expect(screen.getByRole('img')).toHaveClass('sticker');
    expect(screen.queryByRole('button', { name: 'Show larger' })).toBeNull();
  });

  it('voice notes (audio with voice: true) are labelled as such', () => {
    expect(isVoice('audio', media({ voice: true }))).toBe(true);
    expect(isVoice('audio', media({ voice: false }))).toBe(false);
    show({ kind: 'audio', media: media({ mimeType: 'audio/ogg', voice: true, localUrl: 'media://localhost/5' }) });
    const audio = document.querySelector('audio');
    expect(audio).toHaveAttribute('src', 'media://localhost/5');
    expect(audio).toHaveAttribute('aria-label', 'Voice message');
  });

  it('a video plays from the media protocol', () => {
    show({ kind: 'video', media: media({ mimeType: 'video/mp4', localUrl: 'media://localhost/6' }) });
    expect(screen.getByTestId('media-video')).toHaveAttribute('src', 'media://localhost/6');
  });
});
