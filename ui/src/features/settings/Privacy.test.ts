import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Account } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import { session } from '$lib/stores/session.svelte';
import Privacy from './Privacy.svelte';
import { parseDays } from './retention';

const OWNER: Account = {
  userId: 'u1',
  userName: 'Ana Owner',
  email: 'ana@example.com',
  role: 'owner',
  workspaceId: 'w1',
  company: 'Panadería Ana',
  relayUrl: 'https://relay.example',
  sessionId: 's1',
  numbers: [],
};

const KEEP_ALL = { messagesDays: null, mediaDays: null, rawEventsDays: null };

describe('retention days', () => {
  it('accepts empty (forever) or 1 to 36500 whole days', () => {
    expect(parseDays('')).toBeNull();
    expect(parseDays(' 30 ')).toBe(30);
    expect(parseDays('36500')).toBe(36_500);
    for (const bad of ['0', '36501', '-1', '1.5', '30d', 'abc']) expect(parseDays(bad)).toBe('invalid');
  });
});

describe('Privacy settings', () => {
  it('shows the stored policy, refuses bad days, saves good ones', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        retention: () => ({ messagesDays: 365, mediaDays: null, rawEventsDays: 30 }),
        set_retention: (args) => args?.settings,
      },
      log,
    );
    render(Privacy, { account: OWNER });
    const messages = screen.getByTestId('retention-days');
    await waitFor(() => {
      expect(messages).toHaveValue('365');
    });
    expect(screen.getByTestId('retention-raw-days')).toHaveValue('30');

    await fireEvent.input(messages, { target: { value: '0' } });
    expect(screen.getByText(/Enter a whole number of days from 1 to 36,500/)).toBeInTheDocument();
    expect(screen.getByTestId('retention-save')).toBeDisabled();

    await fireEvent.input(messages, { target: { value: '90' } });
    await fireEvent.input(screen.getByTestId('retention-raw-days'), { target: { value: '' } });
    expect(screen.getByTestId('retention-save')).toBeEnabled();
    await fireEvent.click(screen.getByTestId('retention-save'));
    expect(await screen.findByText('Retention saved. Your team’s other devices follow it.')).toBeInTheDocument();
    expect(log).toContainEqual({
      cmd: 'set_retention',
      args: { settings: { messagesDays: 90, mediaDays: null, rawEventsDays: null } },
    });
  });

  it('applies retention now and reports what went', async () => {
    mockCommands({
      retention: () => KEEP_ALL,
      apply_retention: () => ({ messages: 12, media: 3, mediaFiles: 2, rawEvents: 40 }),
    });
    render(Privacy, { account: OWNER });
    await fireEvent.click(screen.getByTestId('retention-apply'));
    expect(await screen.findByTestId('retention-result')).toHaveTextContent(
      'Deleted 12 messages, 3 media records (2 files) and 40 raw webhook records.',
    );
  });

  it('exports everything and shows where', async () => {
    const path = '/home/ana/Downloads/DataOptix export – Panadería Ana – 2026-11-25.zip';
    mockCommands({
      retention: () => KEEP_ALL,
      export_everything: () => ({ path, contacts: 4, messages: 20, mediaIncluded: 7, mediaSkipped: 0 }),
    });
    render(Privacy, { account: OWNER });
    await fireEvent.click(screen.getByTestId('export-everything'));
    const result = await screen.findByTestId('export-result');
    expect(result).toHaveTextContent(`Saved to ${path}`);
    expect(result).toHaveTextContent('4 contacts, 20 messages, 7 media files.');
  });

  it('deletes the account only once the company or email is typed, then starts over', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        retention: () => KEEP_ALL,
        delete_account: () => ({ kind: 'signedOut', lastRelayUrl: null, defaultRelayUrl: null }),
      },
      log,
    );
    render(Privacy, { account: OWNER });
    const button = screen.getByTestId('delete-account');
    expect(button).toBeDisabled();
    const input = screen.getByTestId('delete-account-confirm');
    await fireEvent.input(input, { target: { value: 'Panaderia' } });
    expect(button).toBeDisabled();
    await fireEvent.input(input, { target: { value: 'ANA@example.com ' } });
    expect(button).toBeEnabled();
    await fireEvent.click(button);
    await waitFor(() => {
      expect(session.phase.kind).toBe('signedOut');
    });
    expect(log).toContainEqual({ cmd: 'delete_account', args: { confirmation: 'ANA@example.com' } });
  });

  it('shows a refused deletion and stays', async () => {
    mockCommands({
      retention: () => KEEP_ALL,
      delete_account: () => Promise.reject({ kind: 'relayUnreachable', message: 'the DataOptix server cannot be reached' }),
    });
    render(Privacy, { account: OWNER });
    await fireEvent.input(screen.getByTestId('delete-account-confirm'), { target: { value: 'Panadería Ana' } });
    await fireEvent.click(screen.getByTestId('delete-account'));
    expect(await screen.findByRole('alert')).toHaveTextContent('cannot be reached');
    expect(screen.getByTestId('delete-account')).toBeEnabled();
  });

  it('offers deletion to owners only', () => {
    mockCommands({ retention: () => KEEP_ALL });
    render(Privacy, { account: { ...OWNER, role: 'admin' } });
    expect(screen.queryByTestId('delete-account')).toBeNull();
    expect(screen.getByText('Only an owner can delete the account.')).toBeInTheDocument();
  });

  it('offers the whole-workspace export to owners and admins, not agents', () => {
    mockCommands({ retention: () => KEEP_ALL });
    const { unmount } = render(Privacy, { account: { ...OWNER, role: 'admin' } });
    expect(screen.getByTestId('export-everything')).toBeInTheDocument();
    unmount();
    render(Privacy, { account: { ...OWNER, role: 'agent' } });
    expect(screen.queryByTestId('export-everything')).toBeNull();
    expect(screen.getByTestId('export-managers-only')).toBeInTheDocument();
  });

  it('shows an agent the retention policy but no way to change or apply it', async () => {
    mockCommands({ retention: () => ({ messagesDays: 90, mediaDays: null, rawEventsDays: null }) });
    render(Privacy, { account: { ...OWNER, role: 'agent' } });
    const days = screen.getByTestId('retention-days');
    await waitFor(() => expect(days).toHaveValue('90'));
    expect(days).toBeDisabled();
    expect(screen.queryByTestId('retention-save')).toBeNull();
    expect(screen.queryByTestId('retention-apply')).toBeNull();
    expect(screen.getByTestId('retention-managers')).toHaveTextContent('Only owners and admins');
  });
});
