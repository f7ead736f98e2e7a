import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { BroadcastForm, BroadcastPreview, BroadcastSummary, PhoneNumber } from '$lib/ipc';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { contact, phoneNumber, template } from '../../test/fixtures';
import NewBroadcast from './NewBroadcast.svelte';

const HOSTILE = '<script>window.pwned=1</script><b>bold</b>';

const CSV = 'Phone;First Name;Order\n+44 7700 900001;Ana;A-1\nnot a number;Bo;B-2\n+44 7700 900001;Ana again;A-3\n';

function preview(overrides: Partial<BroadcastPreview> = {}): BroadcastPreview {
  return {
    total: 2,
    sendable: 1,
    excluded: [
      {
        contactId: 9,
        phone: '447700900009',
        name: 'Opted Out Olga',
        body: [],
        header: [],
        buttons: [],
        skipReason: 'opted out of marketing',
        line: null,
      },
    ],
    importIssues: [],
    sample: { header: null, body: 'Hi Ana, your order A-1 is ready.', footer: null, buttons: [], missing: [] },
    ...overrides,
  };
}

const created: BroadcastSummary = {
  id: 42,
  name: 'June',
  phoneNumberId: 'pn-1',
  templateName: 'order_ready',
  language: 'en_US',
  status: 'sending',
  authorName: null,
  createdAt: 1,
  counts: { total: 1, queued: 1, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0, cancelled: 0 },
  importIssues: [],
  paramsJson: '{}',
};

function setup(handlers: Record<string, CommandHandler> = {}, numbers: PhoneNumber[] = []) {
  const log: CommandCall[] = [];
  const oncreated = vi.fn();
  mockCommands(
    {
      list_templates: () => [
        template(1, { name: 'order_ready' }),
        template(2, { name: 'in_review', status: 'PENDING' }),
        template(3, { name: 'rejected_one', status: 'REJECTED' }),
      ],
      list_conversations: () => ({ items: [], next: null }),
      list_contacts: (args) => ({
        items: [contact(4, { name: 'Ana' }), contact(5, { name: 'Bo', optedOut: true })]
          .filter((c) => c.name.toLowerCase().includes(String(args?.query).toLowerCase()))
          .map((c) => ({
            contact: c,
            displayName: null,
            profileName: c.name,
            conversationId: null,
            lastSeenAt: null,
            messageCount: 0,
          })),
        next: null,
      }),
      preview_broadcast: () => preview(),
      create_broadcast: () => created,
      ...handlers,
    },
    log,
  );
  render(NewBroadcast, { numbers, onback: vi.fn(), oncreated });
  return { log, oncreated };
}

function lastPreviewForm(log: CommandCall[]): BroadcastForm | undefined {
  return log.filter((c) => c.cmd === 'preview_broadcast').at(-1)?.args?.form as BroadcastForm | undefined;
}

async function chooseTemplate(user: ReturnType<typeof userEvent.setup>): Promise<void> {
  await user.selectOptions(await screen.findByTestId('broadcast-template'), 'order_ready (en_US)');
}

describe('New broadcast', () => {
  it('offers approved templates only, and says why', async () => {
    setup();
    const select = await screen.findByTestId('broadcast-template');
    const options = within(select)
      .getAllByRole('option')
      .map((o) => o.textContent);
    expect(options).toEqual(['Choose a template', 'order_ready (en_US)']);
    expect(screen.getByTestId('broadcast-templates-hidden')).toHaveTextContent('2 templates not approved');
    expect(screen.getByText(/Only approved templates can be broadcast/)).toBeInTheDocument();
  });

  it('says so when no template is approved', async () => {
    setup({ list_templates: () => [template(2, { status: 'PENDING' })] });
    expect(await screen.findByTestId('broadcast-no-template')).toHaveTextContent('No approved template yet');
  });

  it('maps CSV columns to variables, previews with line numbers, and sends', async () => {
    const user = userEvent.setup();
    const { log, oncreated } = setup({
      preview_broadcast: () =>
        preview({
          importIssues: [
            { line: 3, kind: 'invalid', message: 'line 3: "not a number" is not an international phone number' },
            { line: 4, kind: 'duplicate', message: 'line 4: same number as line 2; sent once' },
          ],
        }),
    });
    await user.type(screen.getByTestId('broadcast-name-input'), 'June');
    await user.click(screen.getByTestId('mode-csv'));
    await user.upload(screen.getByTestId('broadcast-csv'), new File([CSV], 'customers.csv', { type: 'text/csv' }));
    expect(await screen.findByTestId('broadcast-csv-columns')).toHaveTextContent(
      'customers.csv: columns phone, first name, order',
    );
    await chooseTemplate(user);

    const params = screen.getAllByTestId('broadcast-param');
    expect(params).toHaveLength(2);
    const [first, second] = params;
    if (first === undefined || second === undefined) throw new Error('no params');
    await user.selectOptions(within(first).getByTestId('param-source'), 'column');
    const columns = within(first).getByTestId('param-column');
    // The phone number is not a value column.
    expect(within(columns).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'Choose a column',
      'first name',
      'order',
    ]);
    await user.selectOptions(columns, 'first name');
    await user.selectOptions(within(second).getByTestId('param-source'), 'column');
    await user.selectOptions(within(second).getByTestId('param-column'), 'order');

    await waitFor(() => {
      expect(lastPreviewForm(log)).toEqual({
        name: 'June',
        phoneNumberId: null,
        templateName: 'order_ready',
        language: 'en_US',
        body: [
          { kind: 'column', column: 'first name' },
          { kind: 'column', column: 'order' },
        ],
        header: [],
        buttons: [],
        headerMedia: null,
        recipients: { kind: 'csv', text: CSV },
      });
    });
    expect(await screen.findByTestId('broadcast-sendable')).toHaveTextContent('1 of 2 recipients will receive it');
    expect(screen.getByTestId('broadcast-sample')).toHaveTextContent('Hi Ana, your order A-1 is ready.');
    expect(screen.getAllByTestId('broadcast-issue').map((i) => i.dataset.line)).toEqual(['3', '4']);
    expect(screen.getByTestId('broadcast-excluded-row')).toHaveTextContent('Opted Out Olga');
    expect(screen.getByTestId('broadcast-excluded-row')).toHaveTextContent('opted out of marketing');

    const send = screen.getByTestId('broadcast-send');
    expect(send).toHaveTextContent('Send to 1');
    expect(send).toBeEnabled();
    await user.click(send);
    await waitFor(() => {
      expect(oncreated).toHaveBeenCalledWith(created);
    });
    expect(log.find((c) => c.cmd === 'create_broadcast')?.args?.form).toEqual(lastPreviewForm(log));
  });

  it('flags a CSV without a phone column and keeps Send off until a preview succeeds', async () => {
    const user = userEvent.setup();
    setup({
      preview_broadcast: () =>
        Promise.reject({ kind: 'invalidInput', message: 'the CSV’s first line must name the columns, one of them `phone`' }),
    });
    await user.type(screen.getByTestId('broadcast-name-input'), 'June');
    await user.click(screen.getByTestId('mode-csv'));
    await user.upload(screen.getByTestId('broadcast-csv'), new File(['name,order\nAna,A-1\n'], 'bad.csv'));
    expect(await screen.findByTestId('broadcast-csv-no-phone')).toHaveTextContent('no phone column (found: name, order)');
    await chooseTemplate(user);
    for (const value of screen.getAllByTestId('param-value')) await user.type(value, 'x');
    expect(await screen.findByTestId('broadcast-preview-error')).toHaveTextContent('one of them `phone`');
    expect(screen.getByTestId('broadcast-send')).toBeDisabled();
  });

  it('picks contacts by search and checkbox, with fixed values', async () => {
    const user = userEvent.setup();
    const { log } = setup();
    await user.click(screen.getByTestId('mode-contacts'));
    await screen.findAllByTestId('broadcast-contact');
    await user.type(screen.getByTestId('broadcast-contact-search'), 'an');
    await waitFor(() => {
      expect(screen.getAllByTestId('broadcast-contact')).toHaveLength(1);
    });
    await user.click(within(screen.getByTestId('broadcast-contact')).getByRole('checkbox'));
    expect(screen.getByTestId('broadcast-selected')).toHaveTextContent('1 selected');
    await chooseTemplate(user);
    // No CSV: a column is not offered.
    const source = screen.getAllByTestId('param-source')[0];
    if (source === undefined) throw new Error('no source');
    expect(within(source).queryByRole('option', { name: 'From a CSV column' })).toBeNull();
    await user.selectOptions(source, 'contactName');
    const value = screen.getByTestId('param-value');
    await user.type(value, '  A-1 ');
    await waitFor(() => {
      expect(lastPreviewForm(log)?.recipients).toEqual({ kind: 'contacts', contactIds: [4] });
    });
    expect(lastPreviewForm(log)?.body).toEqual([{ kind: 'contactName' }, { kind: 'fixed', value: 'A-1' }]);
    // Without a name the broadcast cannot be sent yet.
    await screen.findByTestId('broadcast-sendable');
    expect(screen.getByTestId('broadcast-send')).toBeDisabled();
    await fireEvent.input(screen.getByTestId('broadcast-name-input'), { target: { value: 'June' } });
    await waitFor(() => {
      expect(screen.getByTestId('broadcast-send')).toBeEnabled();
    });
  });

  it('sends from the number chosen when the workspace has several', async () => {
    const user = userEvent.setup();
    const { log } = setup({}, [
      phoneNumber({ id: 'pn-1', verifiedName: 'Bakery Centre' }),
      phoneNumber({ id: 'pn-2', verifiedName: 'Bakery Harbour' }),
    ]);
    await user.selectOptions(screen.getByTestId('broadcast-number'), 'Bakery Harbour');
    await user.type(screen.getByTestId('broadcast-label'), 'vip');
    await chooseTemplate(user);
    for (const value of screen.getAllByTestId('param-value')) await user.type(value, 'x');
    await waitFor(() => {
      expect(lastPreviewForm(log)?.phoneNumberId).toBe('pn-2');
    });
  });

  it('renders the sample, reasons and CSV issues as text', async () => {
    const user = userEvent.setup();
    setup({
      preview_broadcast: () =>
        preview({
          sample: { header: HOSTILE, body: HOSTILE, footer: null, buttons: [HOSTILE], missing: [] },
          excluded: [
            { contactId: null, phone: '1', name: HOSTILE, body: [], header: [], buttons: [], skipReason: HOSTILE, line: 2 },
          ],
          importIssues: [{ line: 3, kind: 'invalid', message: HOSTILE }],
        }),
    });
    await user.type(screen.getByTestId('broadcast-label'), 'vip');
    await chooseTemplate(user);
    for (const value of screen.getAllByTestId('param-value')) await user.type(value, 'x');
    const area = await screen.findByTestId('broadcast-preview');
    await waitFor(() => {
      expect(within(area).getByTestId('broadcast-sample')).toHaveTextContent(HOSTILE);
    });
    expect(area.querySelector('script, b')).toBeNull();
    expect(within(area).getByTestId('broadcast-issue')).toHaveTextContent(HOSTILE);
    expect(within(area).getByTestId('broadcast-excluded-row')).toHaveTextContent(HOSTILE);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });
});
