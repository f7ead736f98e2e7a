import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { MessageView } from '$lib/ipc';
import { message } from '../../test/fixtures';
import { metaRaw } from '../../test/metaExamples';
import Message from './Message.svelte';
import messageSource from './Message.svelte?raw';
import contentSource from './MessageContent.svelte?raw';

function show(overrides: Partial<MessageView>): HTMLElement {
  render(Message, { message: message(overrides) });
  return screen.getByTestId('message');
}

describe('Message renders every kind', () => {
  it('text, with links kept as text', () => {
    const el = show({ kind: 'text', text: 'Catalogue: https://lumen.example/spring', raw: metaRaw.text });
    expect(el).toHaveTextContent('Catalogue: https://lumen.example/spring');
    expect(el.querySelector('a')).toBeNull();
    expect(screen.getByTestId('message-text')).toHaveAttribute('dir', 'auto');
  });

  it('a template sent with a picture header shows the picture above its text', () => {
    render(Message, {
      message: message({
        kind: 'template',
        direction: 'out',
        text: 'Hi Maria! This weekend only: 15% off.',
        media: {
          metaId: '55',
          mimeType: 'image/png',
          fileName: 'cake.png',
          sizeBytes: 2048,
          state: 'done',
          localUrl: 'media://localhost/91',
          error: null,
          voice: false,
        },
      }),
    });
    expect(screen.getByTestId('template-header-image')).toHaveAttribute('src', 'media://localhost/91');
    expect(screen.getByTestId('message-text')).toHaveTextContent('15% off');
  });

  it('image with a local file, and a placeholder while downloading', () => {
    const { unmount } = render(Message, {
      message: message({
        kind: 'image',
        text: null,
        caption: 'Taj Mahal',
        raw: metaRaw.image,
        media: {
          metaId: '1003383421387256',
          mimeType: 'image/jpeg',
          fileName: 'taj.jpg',
          sizeBytes: 120_000,
          state: 'done',
          localUrl: 'media://localhost/77',
          error: null,
          voice: false,
        },
      }),
    });
    const img = screen.getByRole('img', { name: 'Taj Mahal' });
    expect(img).toHaveAttribute('src', 'media://localhost/77');
    expect(screen.getByText('Taj Mahal')).toBeInTheDocument();
    unmount();

    show({
      kind: 'video',
      text: null,
      media: {
        metaId: '1',
        mimeType: 'video/mp4',
        fileName: 'tour.mp4',
        sizeBytes: null,
        state: 'downloading',
        localUrl: null,
        error: null,
        voice: false,
      },
    });
    const placeholder = screen.getByTestId('media-placeholder');
    expect(placeholder).toHaveTextContent('tour.mp4');
    expect(placeholder).toHaveTextContent('Downloading…');
    expect(document.querySelector('video, img')).toBeNull();
  });

  it('a failed sticker download says so', () => {
    show({
      kind: 'sticker',
      text: null,
      media: { metaId: '2', mimeType: 'image/webp', fileName: null, sizeBytes: null, state: 'failed', localUrl: null, error: null, voice: false },
    });
    expect(screen.getByTestId('media-placeholder')).toHaveTextContent('Download failed');
  });

  it('voice notes play in an audio element when downloaded', () => {
    show({
      kind: 'voice',
      text: null,
      media: {
        metaId: '3',
        mimeType: 'audio/ogg; codecs=opus',
        fileName: null,
        sizeBytes: 5000,
        state: 'done',
        localUrl: 'media://localhost/3',
        error: null,
        voice: false,
      },
    });
    const audio = document.querySelector('audio');
    expect(audio).not.toBeNull();
    expect(audio).toHaveAttribute('controls');
  });

  it('document with name and size', () => {
    show({
      kind: 'document',
      text: null,
      media: {
        metaId: '4',
        mimeType: 'application/pdf',
        fileName: 'invoice-0042.pdf',
        sizeBytes: 245_760,
        state: 'done',
        localUrl: 'media://localhost/4',
        error: null,
        voice: false,
      },
    });
    const doc = screen.getByTestId('document');
    expect(doc).toHaveTextContent('invoice-0042.pdf');
    expect(doc).toHaveTextContent('240 KB');
    expect(doc).toHaveTextContent('application/pdf');
  });

  it('location with name, address and coordinates', () => {
    show({
      kind: 'location',
      text: null,
      raw: metaRaw.location,
      location: {
        latitude: 37.44221496582,
        longitude: -122.16165924072,
        name: 'Philz Coffee',
        address: '101 Forest Ave, Palo Alto, CA 94301',
      },
    });
    const loc = screen.getByTestId('location');
    expect(loc).toHaveTextContent('Philz Coffee');
    expect(loc).toHaveTextContent('101 Forest Ave, Palo Alto, CA 94301');
    expect(loc).toHaveTextContent('37.442215, -122.161659');
  });

  it('shared contacts from raw', () => {
    show({ kind: 'contacts', text: null, raw: metaRaw.contacts });
    const card = screen.getByTestId('contacts');
    expect(card).toHaveTextContent('Lucía Gómez');
    expect(card).toHaveTextContent('Google');
    expect(card).toHaveTextContent('+1 (983) 555-2319');
  });

  it('interactive button and list replies, and template quick replies', () => {
    const { unmount } = render(Message, {
      message: message({ kind: 'interactive', text: null, raw: metaRaw.listReply }),
    });
    let card = screen.getByTestId('interactive');
    expect(card).toHaveTextContent('List reply');
    expect(card).toHaveTextContent('Priority Mail Express');
    expect(card).toHaveTextContent('Next Day to 2 Days');
    expect(card).toHaveTextContent('ID: priority_express');
    unmount();

    const second = render(Message, {
      message: message({ kind: 'interactive', text: null, raw: metaRaw.buttonReply }),
    });
    card = screen.getByTestId('interactive');
    expect(card).toHaveTextContent('Button reply');
    second.unmount();

    show({ kind: 'button', text: null, raw: metaRaw.quickReply });
    card = screen.getByTestId('interactive');
    expect(card).toHaveTextContent('Unsubscribe');
  });

  it('order with item count and total', () => {
    show({ kind: 'order', text: null, raw: metaRaw.order });
    const card = screen.getByTestId('order');
    expect(card).toHaveTextContent('Items: 3');
    expect(card).toHaveTextContent('Total: $85.00');
  });

  it('referral from an ad with the headline, and the customer text', () => {
    show({ kind: 'text', text: 'Hello! Can I get more info on this?', raw: metaRaw.referral });
    const card = screen.getByTestId('referral');
    expect(card).toHaveTextContent('From an ad');
    expect(card).toHaveTextContent('Chat with us');
    expect(card).toHaveTextContent('Summer Succulents are here!');
    expect(screen.getByTestId('message-text')).toHaveTextContent('Hello! Can I get more info on this?');
  });

  it('system message body', () => {
    show({ kind: 'system', text: null, raw: metaRaw.system });
    expect(screen.getByTestId('message')).toHaveTextContent(
      'User Sheena Nelson changed from 16505551234 to 12195555358',
    );
  });

  it('unsupported, with the raw JSON behind a disclosure as text', async () => {
    show({ kind: 'unsupported', text: null, raw: metaRaw.unsupported });
    const card = screen.getByTestId('unsupported');
    expect(card).toHaveTextContent('Unsupported message type unsupported');
    const details = card.querySelector('details');
    expect(details).not.toBeNull();
    expect(details?.open).toBe(false);
    await fireEvent.click(within(card).getByText('Show the raw data'));
    expect(card.querySelector('pre')).toHaveTextContent('"code": 131051');
  });

  it('an unknown kind says which type it is', () => {
    show({ kind: 'hologram', text: null, raw: '{"type":"hologram","hologram":{}}' });
    expect(screen.getByTestId('unsupported')).toHaveTextContent('Unsupported message type hologram');
  });

  it('reactions as chips under the message, counted per emoji', () => {
    show({
      reactions: [
        { emoji: '👍', by: 'Lucía' },
        { emoji: '👍', by: 'Ana' },
        { emoji: '❤️', by: 'Ben' },
      ],
    });
    const chips = screen.getAllByTestId('reaction');
    expect(chips).toHaveLength(2);
    expect(chips[0]?.textContent.replace(/\s/g, '')).toBe('👍2');
    expect(chips[0]).toHaveAttribute('title', 'Lucía, Ana');
  });

  it('quoted reply, edited marker, deleted, and staff author', () => {
    const { unmount } = render(Message, {
      message: message({
        direction: 'out',
        status: 'sent',
        author: 'Ben Agent',
        replyTo: { wamid: 'wamid.q', preview: 'Do you deliver on Sunday?' },
        editedAt: 1_750_000_100,
      }),
    });
    expect(screen.getByTestId('quote')).toHaveTextContent('Do you deliver on Sunday?');
    expect(screen.getByTestId('edited')).toHaveTextContent('Edited');
    expect(screen.getByTestId('message')).toHaveTextContent('Sent by Ben Agent');
    unmount();

    show({ deleted: true, text: 'secret', editedAt: 1 });
    expect(screen.getByTestId('message')).toHaveTextContent('This message was deleted');
    expect(screen.getByTestId('message')).not.toHaveTextContent('secret');
    expect(screen.queryByTestId('edited')).toBeNull();
  });
});

describe('status ticks', () => {
  it.each([
    ['pending', 'Waiting to send'],
    ['sent', 'Sent'],
    ['delivered', 'Delivered'],
    ['read', 'Read'],
    ['played', 'Played'],
  ] as const)('%s shows its tick with an accessible name', (status, label) => {
    show({ direction: 'out', status });
    expect(screen.getByTestId('message')).toHaveAttribute('data-status', status);
    const tick = screen.getByTestId('status-tick');
    expect(tick).toHaveAttribute('data-status', status);
    expect(tick).toHaveAccessibleName(label);
  });

  it('read ticks are the blue ones, delivered are not', () => {
    const { unmount } = render(Message, { message: message({ direction: 'out', status: 'read' }) });
    expect(screen.getByTestId('status-tick')).toHaveClass('read');
    unmount();
    show({ direction: 'out', status: 'delivered' });
    expect(screen.getByTestId('status-tick')).not.toHaveClass('read');
  });

  it('failed explains the error and what to do on click', async () => {
    show({
      direction: 'out',
      status: 'failed',
      error: {
        code: 131047,
        title: 'Re-engagement message',
        explanation: 'More than 24 hours have passed since the customer last replied.',
        action: 'Send a template instead.',
      },
    });
    const tick = screen.getByRole('button', { name: 'Not delivered' });
    expect(screen.queryByTestId('status-error')).toBeNull();
    await fireEvent.click(tick);
    const explain = screen.getByTestId('status-error');
    expect(explain).toHaveTextContent('More than 24 hours have passed');
    expect(explain).toHaveTextContent('Send a template instead.');
    expect(explain).toHaveTextContent('Code 131047');
  });

  it('inbound messages have no tick', () => {
    show({ direction: 'in', status: null });
    expect(screen.queryByTestId('status-tick')).toBeNull();
  });
});

describe('hostile content stays inert text', () => {
  const hostile = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    'javascript:alert(1)',
    '\u202Egnp.exe',
  ];

  it.each(hostile)('text %j is shown literally and creates no element', (payload) => {
    show({ text: payload, caption: null });
    expect(screen.getByTestId('message-text').textContent).toBe(payload);
    const el = screen.getByTestId('message');
    expect(el.querySelector('script, img, a, iframe')).toBeNull();
  });

  it('hostile values in captions, quotes, names, file names, raw JSON and reactions are text', () => {
    const evil = '<img src=x onerror=alert(1)>';
    show({
      kind: 'document',
      text: null,
      caption: evil,
      author: evil,
      replyTo: { wamid: 'w', preview: '<script>alert(1)</script>' },
      reactions: [{ emoji: evil, by: evil }],
      media: { metaId: null, mimeType: evil, fileName: evil, sizeBytes: 1, state: 'pending', localUrl: null, error: null, voice: false },
    });
    const el = screen.getByTestId('message');
    expect(el.querySelector('script, img, a')).toBeNull();
    expect(el.textContent).toContain(evil);
    expect(el.textContent).toContain('<script>alert(1)</script>');
  });

  it('contacts and unsupported raw with markup stay text', () => {
    const raw = JSON.stringify({
      type: 'contacts',
      contacts: [{ name: { formatted_name: '<script>alert(1)</script>' }, phones: [{ phone: '<b>1</b>' }] }],
    });
    const first = render(Message, { message: message({ kind: 'contacts', text: null, raw }) });
    expect(screen.getByTestId('contacts')).toHaveTextContent('<script>alert(1)</script>');
    expect(document.querySelector('[data-testid="message"] script, [data-testid="message"] b')).toBeNull();
    first.unmount();

    show({ kind: 'weird', text: null, raw: '{"x":"<img src=x onerror=alert(1)>"}' });
    expect(screen.getByTestId('unsupported').querySelector('img')).toBeNull();
    expect(screen.getByTestId('unsupported').querySelector('pre')).toHaveTextContent('<img src=x onerror=alert(1)>');
  });

  it('a javascript: or remote media URL is never loaded', () => {
    show({
      kind: 'image',
      text: null,
      media: { metaId: '1', mimeType: 'image/png', fileName: 'x.png', sizeBytes: 1, state: 'done', localUrl: 'javascript:alert(1)', error: null, voice: false },
    });
    expect(document.querySelector('img')).toBeNull();
    expect(screen.getByTestId('media-placeholder')).toBeInTheDocument();
  });

  it('RTL text gets dir=auto and the override character is kept as text', () => {
    show({ text: 'مرحبا \u202E abc' });
    const text = screen.getByTestId('message-text');
    expect(text).toHaveAttribute('dir', 'auto');
    expect(text.textContent).toBe('مرحبا \u202E abc');
  });

  it('a 50 KB text without spaces is rendered whole, in an element that wraps anywhere', () => {
    const long = 'A'.repeat(50 * 1024);
    show({ text: long });
    const text = screen.getByTestId('message-text');
    expect(text.textContent).toHaveLength(50 * 1024);
    expect(text).toHaveClass('text');
    // jsdom does not lay out or load component CSS: assert the rules that make it wrap.
    expect(contentSource).toMatch(/\.text \{[^}]*overflow-wrap: anywhere;/);
    expect(messageSource).toMatch(/\.bubble \{[^}]*max-width: min\(75%, 42rem\);[^}]*overflow-wrap: anywhere;/);
  });
});
