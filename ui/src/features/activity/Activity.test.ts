import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ActivityView } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import Activity from './Activity.svelte';

function entry(id: number, action: string, overrides: Partial<ActivityView> = {}): ActivityView {
  return {
    id,
    ts: 1_764_000_000 + id,
    actor: 'Ana Owner <ana@example.com>',
    action,
    subject: `contact:${id}`,
    details: '{"messages":3}',
    ...overrides,
  };
}

describe('Activity', () => {
  it('lists entries newest first as text and pages to older ones', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        list_activity: (args) =>
          args?.before === null
            ? { items: [entry(3, 'privacy.erase_contact', { actor: '<b>x</b>' }), entry(2, 'privacy.export')], next: 2 }
            : { items: [entry(1, 'privacy.restrict_contact', { details: '{}' })], next: null },
      },
      log,
    );
    render(Activity);
    const rows = await screen.findAllByTestId('activity-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveAttribute('data-activity-id', '3');
    expect(rows[0]).toHaveTextContent('Erased a contact');
    expect(rows[0]?.querySelector('[data-action]')).toHaveAttribute('title', 'privacy.erase_contact');
    expect(rows[0]).toHaveTextContent('contact:3');
    expect(rows[0]).toHaveTextContent('<b>x</b>');
    expect(rows[0]?.querySelector('b')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Show older' }));
    await waitFor(() => {
      expect(screen.getAllByTestId('activity-row')).toHaveLength(3);
    });
    expect(log).toContainEqual({ cmd: 'list_activity', args: { before: 2, limit: 50 } });
    expect(screen.queryByRole('button', { name: 'Show older' })).toBeNull();
  });

  it('says in words which change the relay refused, the identifier on hover', async () => {
    mockCommands({
      list_activity: () => ({
        items: [entry(4, 'team.change_refused', { subject: 'retention_policy_set' })],
        next: null,
      }),
    });
    render(Activity);
    const [row] = await screen.findAllByTestId('activity-row');
    expect(row).toHaveTextContent('The team’s retention policy');
    expect(row).not.toHaveTextContent('retention_policy_set');
    expect(row?.querySelector('[title="retention_policy_set"]')).not.toHaveClass('mono');
  });

  it('says when the log is empty, and shows a load error with a retry', async () => {
    let fail = true;
    mockCommands({
      list_activity: () => (fail ? Promise.reject({ kind: 'internal', message: 'locked' }) : { items: [], next: null }),
    });
    render(Activity);
    expect(await screen.findByRole('alert')).toHaveTextContent('locked');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('activity-empty')).toBeInTheDocument();
  });

  it('verifies the chain: intact', async () => {
    mockCommands({
      list_activity: () => ({ items: [entry(1, 'privacy.export')], next: null }),
      verify_activity: () => ({ intact: true, brokenAt: null, entries: 1 }),
    });
    render(Activity);
    await screen.findAllByTestId('activity-row');
    await fireEvent.click(screen.getByTestId('activity-verify'));
    const verdict = await screen.findByTestId('activity-integrity');
    expect(verdict).toHaveAttribute('data-intact', 'true');
    expect(verdict).toHaveTextContent('Intact: all 1 entries check out.');
  });

  it('verifies the chain: altered, naming the entry and marking the rows from there', async () => {
    mockCommands({
      list_activity: () => ({ items: [entry(3, 'a'), entry(2, 'b'), entry(1, 'c')], next: null }),
      verify_activity: () => ({ intact: false, brokenAt: 2, entries: 3 }),
    });
    render(Activity);
    await screen.findAllByTestId('activity-row');
    await fireEvent.click(screen.getByTestId('activity-verify'));
    const verdict = await screen.findByTestId('activity-integrity');
    expect(verdict).toHaveAttribute('data-intact', 'false');
    expect(verdict).toHaveAttribute('role', 'alert');
    expect(verdict).toHaveTextContent('the log was changed at entry 2');
    const rows = screen.getAllByTestId('activity-row');
    expect(rows.map((r) => r.classList.contains('suspect'))).toEqual([true, true, false]);
  });

  it('shows a failed check as an error, not as a verdict', async () => {
    mockCommands({
      list_activity: () => ({ items: [entry(1, 'a')], next: null }),
      verify_activity: () => Promise.reject({ kind: 'internal', message: 'database is locked' }),
    });
    render(Activity);
    await screen.findAllByTestId('activity-row');
    await fireEvent.click(screen.getByTestId('activity-verify'));
    expect(await screen.findByRole('alert')).toHaveTextContent('database is locked');
    expect(screen.queryByTestId('activity-integrity')).toBeNull();
  });
});
