import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { ContactDetail, ContactPage } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import Contacts from './Contacts.svelte';

const HOSTILE = '<img src=x onerror=alert(1)>';

function contact(id: number, name: string, waId: string, overrides: Partial<ContactDetail> = {}): ContactDetail {
  return {
    contact: { id, name, waId, userId: null, phone: waId, restricted: false, optedOut: false },
    displayName: null,
    profileName: name,
    conversationId: id * 10,
    lastSeenAt: 1_764_000_000,
    messageCount: 3,
    ...overrides,
  };
}

const ANA = contact(1, 'Ana Souza', '5511987654321');
const BO = contact(2, HOSTILE, '15550001111', {
  contact: { id: 2, name: HOSTILE, waId: '15550001111', userId: null, phone: null, restricted: true, optedOut: true },
});

function page(items: ContactDetail[], next: ContactPage['next'] = null): ContactPage {
  return { items, next };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await vi.dynamicImportSettled();
}

function rows(): HTMLElement[] {
  return screen.getAllByTestId('contact-row');
}

function row(n: number): HTMLElement {
  const r = rows()[n];
  if (r === undefined) throw new Error(`no row ${n}`);
  return r;
}

describe('Contacts', () => {
  it('lists contacts as text with their ids, flags and paging', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_contacts: (args) =>
          args?.after === null ? page([ANA, BO], { key: 'bo', id: 2 }) : page([contact(3, 'Cy', '447700900123')]),
      },
      log,
    );
    render(Contacts, { onopenconversation: () => {} });
    await screen.findAllByTestId('contact-row');
    expect(rows()).toHaveLength(2);
    expect(row(0)).toHaveAttribute('data-contact-id', '1');
    expect(row(0)).toHaveAttribute('data-wa-id', '5511987654321');
    // A hostile name is shown literally, never as markup.
    expect(row(1)).toHaveTextContent(HOSTILE);
    expect(row(1).querySelector('img')).toBeNull();
    expect(row(1)).toHaveTextContent('Restricted');
    expect(row(1)).toHaveTextContent('Opted out');
    await fireEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await waitFor(() => {
      expect(rows()).toHaveLength(3);
    });
    expect(log).toContainEqual({ cmd: 'list_contacts', args: { query: '', after: { key: 'bo', id: 2 }, limit: 50 } });
    expect(screen.queryByRole('button', { name: 'Show more' })).toBeNull();
  });

  it('searches by name or number, and says when nothing matches', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_contacts: (args) => (args?.query === 'souza' ? page([ANA]) : args?.query === '' ? page([ANA, BO]) : page([])),
      },
      log,
    );
    render(Contacts, { onopenconversation: () => {} });
    await screen.findAllByTestId('contact-row');
    await fireEvent.input(screen.getByTestId('contact-search'), { target: { value: 'souza' } });
    await waitFor(() => {
      expect(rows()).toHaveLength(1);
    });
    expect(log).toContainEqual({ cmd: 'list_contacts', args: { query: 'souza', after: null, limit: 50 } });
    await fireEvent.input(screen.getByTestId('contact-search'), { target: { value: 'nobody' } });
    expect(await screen.findByTestId('contacts-empty')).toHaveTextContent('No contact matches “nobody”.');
  });

  it('shows an empty state and a load error with a retry', async () => {
    let fail = true;
    mockCommands({
      list_contacts: () => (fail ? Promise.reject({ kind: 'internal', message: 'store busy' }) : page([])),
    });
    render(Contacts, { onopenconversation: () => {} });
    expect(await screen.findByRole('alert')).toHaveTextContent('store busy');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('contacts-empty')).toHaveTextContent('No contacts yet.');
  });

  it('shows the detail, renames, restricts and opens the conversation', async () => {
    const log: CommandCall[] = [];
    const opened: number[] = [];
    mockCommands(
      {
        list_contacts: () => page([ANA]),
        contact_detail: () => ANA,
        rename_contact: () => contact(1, 'Ana S.', '5511987654321', { displayName: 'Ana S.' }),
        set_contact_restricted: () =>
          contact(1, 'Ana Souza', '5511987654321', {
            contact: { ...ANA.contact, restricted: true },
          }),
      },
      log,
    );
    render(Contacts, { onopenconversation: (id: number) => opened.push(id) });
    await screen.findAllByTestId('contact-row');
    await fireEvent.click(row(0));
    const pane = await screen.findByTestId('contact-detail');
    expect(await within(pane).findByRole('heading', { name: 'Ana Souza' })).toBeInTheDocument();
    expect(pane).toHaveTextContent('+5511987654321');

    const input = screen.getByTestId('contact-name-input');
    await fireEvent.input(input, { target: { value: '  Ana S.  ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save name' }));
    await settle();
    expect(log).toContainEqual({ cmd: 'rename_contact', args: { id: 1, displayName: 'Ana S.' } });
    expect(await screen.findByRole('heading', { name: 'Ana S.' })).toBeInTheDocument();
    // The list row follows.
    expect(row(0)).toHaveTextContent('Ana S.');

    // Too long a name is refused before any call.
    await fireEvent.input(input, { target: { value: 'x'.repeat(257) } });
    expect(screen.getByText('Use at most 256 characters.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Save name' })).toBeDisabled();

    await fireEvent.click(screen.getByTestId('contact-restricted'));
    await settle();
    expect(log).toContainEqual({ cmd: 'set_contact_restricted', args: { id: 1, restricted: true } });
    await waitFor(() => {
      expect(screen.getByTestId('contact-restricted')).toBeChecked();
    });

    await fireEvent.click(screen.getByTestId('contact-open-conversation'));
    expect(opened).toEqual([10]);
  });

  it('exports into the download folder and shows the path with "Show in folder"', async () => {
    const log: CommandCall[] = [];
    const path = '/home/ana/Downloads/DataOptix export – Ana Souza – 2026-11-25.zip';
    mockCommands(
      {
        list_contacts: () => page([ANA]),
        contact_detail: () => ANA,
        export_contact: () => ({ path, contacts: 1, messages: 3, mediaIncluded: 0, mediaSkipped: 1 }),
        reveal_export: () => null,
      },
      log,
    );
    render(Contacts, { onopenconversation: () => {} });
    await screen.findAllByTestId('contact-row');
    await fireEvent.click(row(0));
    await fireEvent.click(await screen.findByTestId('contact-export'));
    const result = await screen.findByTestId('export-result');
    expect(result).toHaveTextContent(`Saved to ${path}`);
    expect(result).toHaveTextContent('1 media files could not be included');
    expect(log).toContainEqual({ cmd: 'export_contact', args: { id: 1 } });
    await fireEvent.click(within(result).getByRole('button', { name: 'Show in folder' }));
    await settle();
    expect(log).toContainEqual({ cmd: 'reveal_export', args: { path } });
  });

  it('erases only after the contact’s name is typed, then reloads and reports', async () => {
    const log: CommandCall[] = [];
    let erased = false;
    mockCommands(
      {
        list_contacts: () => page(erased ? [] : [ANA]),
        contact_detail: () => ANA,
        erase_contact: () => {
          erased = true;
          return { messages: 3, conversations: 1, mediaFiles: 1, otherRows: 4 };
        },
      },
      log,
    );
    render(Contacts, { onopenconversation: () => {} });
    await screen.findAllByTestId('contact-row');
    await fireEvent.click(row(0));
    await fireEvent.click(await screen.findByTestId('contact-erase'));
    const dialog = screen.getByRole('alertdialog');
    // The confirmation names the contact and what goes.
    expect(dialog).toHaveTextContent('Erase Ana Souza?');
    expect(dialog).toHaveTextContent('3 messages');
    const confirm = screen.getByTestId('erase-confirm');
    expect(confirm).toBeDisabled();
    await fireEvent.input(screen.getByTestId('erase-confirm-input'), { target: { value: 'Ana' } });
    expect(confirm).toBeDisabled();
    await fireEvent.click(confirm);
    expect(log.some((c) => c.cmd === 'erase_contact')).toBe(false);
    // Cancel closes it without erasing.
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();

    await fireEvent.click(screen.getByTestId('contact-erase'));
    await fireEvent.input(screen.getByTestId('erase-confirm-input'), { target: { value: ' ana souza ' } });
    expect(screen.getByTestId('erase-confirm')).toBeEnabled();
    await fireEvent.click(screen.getByTestId('erase-confirm'));
    const result = await screen.findByTestId('erase-result');
    expect(result).toHaveTextContent('Erased: 3 messages, 1 conversations, 1 media files and 4 other records.');
    expect(log).toContainEqual({ cmd: 'erase_contact', args: { id: 1 } });
    expect(await screen.findByTestId('contacts-empty')).toBeInTheDocument();
    expect(screen.queryByTestId('contact-detail')).toBeNull();
  });

  it('does not offer an agent to erase a contact, and says who can', async () => {
    mockCommands({ list_contacts: () => page([ANA]), contact_detail: () => ANA });
    render(Contacts, { onopenconversation: () => {}, canManage: false });
    await screen.findAllByTestId('contact-row');
    await fireEvent.click(row(0));
    await screen.findByTestId('contact-detail');
    expect(screen.queryByTestId('contact-erase')).toBeNull();
    expect(screen.getByTestId('contact-erase-managers')).toHaveTextContent('Only owners and admins');
    expect(screen.getByTestId('contact-export')).toBeInTheDocument();
  });

  it('shows a refused action as the core said it', async () => {
    mockCommands({
      list_contacts: () => page([ANA]),
      contact_detail: () => ANA,
      export_contact: () => Promise.reject({ kind: 'invalidInput', message: 'cannot create the folder /x' }),
    });
    render(Contacts, { onopenconversation: () => {} });
    await screen.findAllByTestId('contact-row');
    await fireEvent.click(row(0));
    await fireEvent.click(await screen.findByTestId('contact-export'));
    expect(await screen.findByTestId('contact-error')).toHaveTextContent('cannot create the folder /x');
    expect(screen.queryByTestId('export-result')).toBeNull();
  });
});
