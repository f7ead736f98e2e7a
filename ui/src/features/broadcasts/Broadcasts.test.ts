import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { BroadcastCounts, BroadcastSummary, RecipientView } from '$lib/ipc';
import { emitEvent, mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { NOW_S } from '../../test/fixtures';
import Broadcasts from './Broadcasts.svelte';

const HOSTILE = '<img src=x onerror="window.pwned=1">';

function counts(overrides: Partial<BroadcastCounts> = {}): BroadcastCounts {
  return { total: 3, queued: 3, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0, cancelled: 0, ...overrides };
}

function summary(id: number, overrides: Partial<BroadcastSummary> = {}): BroadcastSummary {
  return {
    id,
    name: `June promo ${id}`,
    phoneNumberId: 'pn-1',
    templateName: 'order_ready',
    language: 'en_US',
    status: 'sending',
    authorName: 'Ana',
    createdAt: NOW_S,
    counts: counts(),
    importIssues: [],
    paramsJson: '{}',
    ...overrides,
  };
}

function recipient(id: number, overrides: Partial<RecipientView> = {}): RecipientView {
  return {
    id,
    contactId: id,
    phone: `44770090000${id}`,
    name: `Customer ${id}`,
    state: 'queued',
    reason: null,
    wamid: null,
    ...overrides,
  };
}

function setup(handlers: Record<string, CommandHandler>, canManage = true) {
  const log: CommandCall[] = [];
  mockCommands(handlers, log);
  render(Broadcasts, { canManage });
  return log;
}

function row(name: string): HTMLElement {
  const found = screen.getAllByTestId('broadcast-row').find((r) => r.textContent.includes(name));
  if (found === undefined) throw new Error(`no row ${name}`);
  return found;
}

describe('Broadcasts list', () => {
  it('shows each broadcast with its status and progress, live from broadcast-progress', async () => {
    const done1 = summary(1, { status: 'completed', counts: counts({ queued: 0, read: 2, failed: 1 }) });
    let list = [summary(2, { counts: counts({ queued: 1, sent: 1, delivered: 1 }) }), done1];
    const log = setup({ broadcasts: () => list });
    await screen.findAllByTestId('broadcast-row');
    const first = row('June promo 2');
    expect(within(first).getByTestId('broadcast-row-status')).toHaveTextContent('Sending');
    expect(within(first).getByTestId('count-sent')).toHaveTextContent('Sent 2');
    expect(within(first).getByTestId('count-delivered')).toHaveTextContent('Delivered 1');
    expect(within(first).getByTestId('count-total')).toHaveTextContent('of 3');
    const done = row('June promo 1');
    expect(within(done).getByTestId('broadcast-row-status')).toHaveTextContent('Completed');
    expect(within(done).getByTestId('count-read')).toHaveTextContent('Read 2');
    expect(within(done).getByTestId('count-failed')).toHaveTextContent('Failed 1');

    // The last recipient leaves the queue: the counts come with the event, the status
    // (completed) is read again.
    const live = counts({ queued: 0, sent: 0, delivered: 1, read: 2 });
    list = [summary(2, { status: 'completed', counts: live }), done1];
    await emitEvent('broadcastProgress', { broadcastId: 2, counts: live });
    await waitFor(() => {
      expect(within(row('June promo 2')).getByTestId('count-read')).toHaveTextContent('Read 2');
    });
    expect(within(row('June promo 2')).getByTestId('count-sent')).toHaveTextContent('Sent 3');
    expect(within(row('June promo 2')).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '3');
    await waitFor(() => {
      expect(within(row('June promo 2')).getByTestId('broadcast-row-status')).toHaveTextContent('Completed');
    });
    expect(log.filter((c) => c.cmd === 'broadcasts')).toHaveLength(2);
  });

  it('reloads when a broadcast it does not list reports progress', async () => {
    let list = [summary(1)];
    const log = setup({ broadcasts: () => list });
    await screen.findByTestId('broadcast-row');
    list = [summary(5, { name: 'From another device' }), ...list];
    await emitEvent('broadcastProgress', { broadcastId: 5, counts: counts() });
    await waitFor(() => {
      expect(screen.getAllByTestId('broadcast-row')).toHaveLength(2);
    });
    expect(log.filter((c) => c.cmd === 'broadcasts')).toHaveLength(2);
  });

  it('has an empty state and an error state with retry', async () => {
    const user = userEvent.setup();
    let fail = true;
    setup({
      broadcasts: () => (fail ? Promise.reject({ kind: 'internal', message: 'store locked' }) : []),
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('store locked');
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('broadcasts-empty')).toHaveTextContent('No broadcasts yet');
  });

  it('renders customer-provided text as text', async () => {
    setup({ broadcasts: () => [summary(1, { name: HOSTILE, authorName: HOSTILE })] });
    const item = await screen.findByTestId('broadcast-row');
    expect(item).toHaveTextContent(HOSTILE);
    expect(item.querySelector('img')).toBeNull();
  });
});

describe('Broadcast detail', () => {
  function detailSetup(initial: BroadcastSummary, people: RecipientView[], extra: Record<string, CommandHandler> = {}) {
    let current = initial;
    let rows = people;
    const log = setup({
      broadcasts: () => [current],
      broadcast: () => current,
      broadcast_recipients: () => rows,
      pause_broadcast: () => (current = { ...current, status: 'paused' }),
      resume_broadcast: () => (current = { ...current, status: 'sending' }),
      cancel_broadcast: () => (current = { ...current, status: 'cancelled', counts: counts({ queued: 0, cancelled: 3 }) }),
      ...extra,
    });
    return {
      log,
      change: (next: BroadcastSummary, nextRows: RecipientView[]) => {
        current = next;
        rows = nextRows;
      },
    };
  }

  async function open(user: ReturnType<typeof userEvent.setup>): Promise<void> {
    await user.click(await screen.findByTestId('broadcast-open'));
    await screen.findByTestId('broadcast-name');
  }

  it('lists recipients with state and failure reason, live', async () => {
    const user = userEvent.setup();
    const { log, change } = detailSetup(summary(7), [recipient(1), recipient(2), recipient(3, { name: HOSTILE })]);
    await open(user);
    expect(screen.getAllByTestId('recipient-row')).toHaveLength(3);
    expect(log.find((c) => c.cmd === 'broadcast_recipients')?.args).toEqual({ id: 7, after: 0, limit: 200 });
    const hostileRow = screen.getAllByTestId('recipient-row')[2];
    expect(hostileRow).toHaveTextContent(HOSTILE);
    expect(hostileRow?.querySelector('img')).toBeNull();

    const live = counts({ queued: 0, sent: 1, read: 1, failed: 1 });
    change(summary(7, { status: 'completed', counts: live }), [
      recipient(1, { state: 'read' }),
      recipient(2, { state: 'sent' }),
      recipient(3, { state: 'failed', reason: '131026: message undeliverable' }),
    ]);
    await emitEvent('broadcastProgress', { broadcastId: 7, counts: live });
    await waitFor(() => {
      expect(screen.getAllByTestId('recipient-row').map((r) => r.dataset.state)).toEqual(['read', 'sent', 'failed']);
    });
    expect(screen.getAllByTestId('recipient-reason')[2]).toHaveTextContent('131026: message undeliverable');
    expect(screen.getByTestId('count-failed')).toHaveTextContent('Failed 1');
    expect(screen.getByTestId('broadcast-status')).toHaveTextContent('Completed');
    // Another broadcast's progress does not touch this one.
    await emitEvent('broadcastProgress', { broadcastId: 8, counts: counts({ failed: 3 }) });
    expect(screen.getByTestId('count-failed')).toHaveTextContent('Failed 1');
  });

  it('lets agents follow a broadcast but not start, pause or cancel one', async () => {
    const user = userEvent.setup();
    setup({ broadcasts: () => [summary(7)], broadcast: () => summary(7), broadcast_recipients: () => [recipient(1)] }, false);
    expect(await screen.findByTestId('broadcasts-managers-only')).toBeInTheDocument();
    expect(screen.queryByTestId('broadcast-new')).toBeNull();
    await open(user);
    expect(screen.getByTestId('broadcast-status')).toHaveTextContent('Sending');
    expect(screen.queryByTestId('broadcast-pause')).toBeNull();
    expect(screen.queryByTestId('broadcast-cancel')).toBeNull();
  });

  it('pauses and resumes', async () => {
    const user = userEvent.setup();
    const { log } = detailSetup(summary(7), [recipient(1)]);
    await open(user);
    await user.click(screen.getByTestId('broadcast-pause'));
    expect(await screen.findByTestId('broadcast-resume')).toBeInTheDocument();
    expect(screen.getByTestId('broadcast-status')).toHaveTextContent('Paused');
    await user.click(screen.getByTestId('broadcast-resume'));
    expect(await screen.findByTestId('broadcast-pause')).toBeInTheDocument();
    expect(log.filter((c) => c.cmd.endsWith('_broadcast')).map((c) => [c.cmd, c.args])).toEqual([
      ['pause_broadcast', { id: 7 }],
      ['resume_broadcast', { id: 7 }],
    ]);
  });

  it('cancels only after confirmation', async () => {
    const user = userEvent.setup();
    const { log } = detailSetup(summary(7), [recipient(1)]);
    await open(user);
    await user.click(screen.getByTestId('broadcast-cancel'));
    const dialog = screen.getByTestId('broadcast-cancel-confirm');
    expect(dialog).toHaveTextContent('Cancel June promo 7?');
    await user.click(within(dialog).getByRole('button', { name: 'Keep sending' }));
    expect(screen.queryByTestId('broadcast-cancel-confirm')).toBeNull();
    expect(log.some((c) => c.cmd === 'cancel_broadcast')).toBe(false);

    await user.click(screen.getByTestId('broadcast-cancel'));
    await user.click(screen.getByTestId('broadcast-cancel-yes'));
    await waitFor(() => {
      expect(screen.getByTestId('broadcast-status')).toHaveTextContent('Cancelled');
    });
    expect(log.filter((c) => c.cmd === 'cancel_broadcast')).toHaveLength(1);
    expect(screen.queryByTestId('broadcast-cancel')).toBeNull();
    expect(screen.queryByTestId('broadcast-pause')).toBeNull();
  });

  it('shows a refused action and keeps the view', async () => {
    const user = userEvent.setup();
    detailSetup(summary(7), [recipient(1)], {
      pause_broadcast: () => Promise.reject({ kind: 'conflict', message: 'the broadcast is completed' }),
    });
    await open(user);
    await user.click(screen.getByTestId('broadcast-pause'));
    expect(await screen.findByTestId('broadcast-action-error')).toHaveTextContent('the broadcast is completed');
    expect(screen.getAllByTestId('recipient-row')).toHaveLength(1);
  });
});
