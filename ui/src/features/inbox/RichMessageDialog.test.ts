import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { message } from '../../test/fixtures';
import RichMessageDialog from './RichMessageDialog.svelte';

function open(kind: 'location' | 'buttons' | 'list' | 'contact', handlers: Record<string, CommandHandler> = {}) {
  const log: CommandCall[] = [];
  mockCommands(
    {
      send_message: () => message({ id: 50, conversationId: 4, direction: 'out', status: 'pending', kind: 'interactive' }),
      ...handlers,
    },
    log,
  );
  const onsent = vi.fn();
  const onclose = vi.fn();
  render(RichMessageDialog, { kind, conversationId: 4, replyTo: 'wamid.Q', onsent, onclose });
  return { log, onsent, onclose };
}

describe('RichMessageDialog', () => {
  it('sends reply buttons with a blank header left out', async () => {
    const user = userEvent.setup();
    const { log, onsent, onclose } = open('buttons');
    await user.type(screen.getByTestId('rich-body'), 'Pick up or delivery?');
    const [first, second] = screen.getAllByTestId('rich-button');
    if (first === undefined || second === undefined) throw new Error('two buttons expected');
    await user.type(first, 'Pick up');
    await user.type(second, 'Delivery');
    await user.click(screen.getByTestId('rich-send'));
    await waitFor(() => {
      expect(onsent).toHaveBeenCalled();
    });
    expect(log.find((c) => c.cmd === 'send_message')?.args).toEqual({
      conversationId: 4,
      replyTo: 'wamid.Q',
      message: { type: 'buttons', header: null, body: 'Pick up or delivery?', footer: null, buttons: ['Pick up', 'Delivery'] },
    });
    expect(onclose).toHaveBeenCalled();
  });

  it('refuses coordinates out of range before calling Rust', async () => {
    const user = userEvent.setup();
    const { log } = open('location');
    await user.type(screen.getByTestId('rich-latitude'), '91');
    await user.type(screen.getByTestId('rich-longitude'), '2.35');
    await user.click(screen.getByTestId('rich-send'));
    expect(await screen.findByTestId('rich-error')).toHaveTextContent('latitude');
    expect(log.some((c) => c.cmd === 'send_message')).toBe(false);
  });

  it('builds a list from its rows and shows what Rust refused', async () => {
    const user = userEvent.setup();
    const { log, onclose } = open('list', {
      send_message: () => Promise.reject({ kind: 'invalidInput', message: "row 1 of section 1's title is at most 24 characters" }),
    });
    await user.type(screen.getByTestId('rich-body'), 'Today');
    await user.type(screen.getByTestId('rich-list-button'), 'See bread');
    await user.type(screen.getByTestId('rich-row-title'), 'Rye');
    await user.click(screen.getByTestId('rich-send'));
    expect(await screen.findByTestId('rich-error')).toHaveTextContent('at most 24 characters');
    expect(log.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
      message: { type: 'list', button: 'See bread', sections: [{ title: null, rows: [{ title: 'Rye', description: null }] }] },
    });
    expect(onclose).not.toHaveBeenCalled();
  });

  it('shares a contact card', async () => {
    const user = userEvent.setup();
    const { log } = open('contact');
    await user.type(screen.getByTestId('rich-contact-name'), 'Flour Mill');
    await user.type(screen.getByTestId('rich-contact-phone'), '+1 650 555 0100');
    await user.click(screen.getByTestId('rich-send'));
    await waitFor(() => {
      expect(log.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
        message: { type: 'contact', name: 'Flour Mill', phones: ['+1 650 555 0100'], email: null, organization: null },
      });
    });
  });
});
