import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { TeamView } from '$lib/ipc';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import Team from './Team.svelte';

const OWNER = '11111111-1111-4111-8111-111111111111';
const AGENT = '22222222-2222-4222-8222-222222222222';

function teamView(overrides: Partial<TeamView> = {}): TeamView {
  return {
    myRole: 'owner',
    canManage: true,
    members: [
      { id: OWNER, name: 'Ana Owner', email: 'ana@example.com', role: 'owner', active: true, isMe: true, joinedAt: '2026-11-01T10:00:00Z' },
      { id: AGENT, name: '<img src=x onerror=alert(1)>', email: 'bo@example.com', role: 'agent', active: true, isMe: false, joinedAt: '2026-11-02T10:00:00Z' },
    ],
    devices: [
      { id: 'd1', deviceName: 'Front desk', memberName: 'Ana Owner', signedInAt: '2026-11-01T10:00:00Z', lastSeenAt: '2026-11-25T10:00:00Z', current: true },
      { id: 'd2', deviceName: 'Laptop', memberName: 'Bo', signedInAt: '2026-11-02T10:00:00Z', lastSeenAt: '2026-11-25T09:00:00Z', current: false },
    ],
    invitations: [{ id: 'i1', email: 'cy@example.com', role: 'admin', expiresAt: '2026-12-01T10:00:00Z' }],
    ...overrides,
  };
}

/** The n-th element, failing the test (not a type assertion) when it is missing. */
function nth(elements: HTMLElement[], n: number): HTMLElement {
  const element = elements[n];
  if (element === undefined) throw new Error(`no element ${n}`);
  return element;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await vi.dynamicImportSettled();
}

describe('Team', () => {
  it('lists members as text, devices and invitations', async () => {
    mockCommands({ team: () => teamView() });
    render(Team);
    const members = await screen.findAllByTestId('team-member');
    expect(members).toHaveLength(2);
    // Hostile names are shown literally, never as markup.
    expect(members[1]).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(members[1]?.querySelector('img')).toBeNull();
    expect(within(nth(members, 0)).queryByRole('combobox')).toBeNull();
    expect(screen.getAllByTestId('team-device')).toHaveLength(2);
    expect(screen.getByTestId('team-invitation')).toHaveTextContent('cy@example.com');
  });

  it('changes a role, removes after confirming, signs a device out and withdraws an invitation', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        team: () => teamView(),
        change_member_role: () => null,
        remove_member: () => null,
        revoke_device: () => null,
        revoke_invitation: () => null,
      },
      log,
    );
    render(Team);
    const members = await screen.findAllByTestId('team-member');
    const select = within(nth(members, 1)).getByRole('combobox');
    await fireEvent.change(select, { target: { value: 'admin' } });
    await settle();
    expect(log).toContainEqual({ cmd: 'change_member_role', args: { memberId: AGENT, role: 'admin' } });

    await fireEvent.click(within(nth(members, 1)).getByRole('button', { name: 'Remove' }));
    expect(log.some((c) => c.cmd === 'remove_member')).toBe(false);
    await fireEvent.click(screen.getByRole('button', { name: /Remove <img/ }));
    await settle();
    expect(log).toContainEqual({ cmd: 'remove_member', args: { memberId: AGENT } });

    const laptop = nth(screen.getAllByTestId('team-device'), 1);
    await fireEvent.click(within(laptop).getByRole('button', { name: 'Sign out' }));
    await settle();
    expect(log).toContainEqual({ cmd: 'revoke_device', args: { sessionId: 'd2' } });

    await fireEvent.click(within(screen.getByTestId('team-invitation')).getByRole('button', { name: 'Withdraw' }));
    await settle();
    expect(log).toContainEqual({ cmd: 'revoke_invitation', args: { invitationId: 'i1' } });
  });

  it('creates an invitation and shows its link once', async () => {
    const log: CommandCall[] = [];
    mockCommands(
      {
        team: () => teamView({ invitations: [] }),
        invite_member: () => 'dataoptix://join?relay=x&invitation=y#secret',
      },
      log,
    );
    render(Team);
    await screen.findAllByTestId('team-member');
    const email = screen.getByTestId('invite-email');
    await fireEvent.input(email, { target: { value: 'dee@example.com' } });
    await fireEvent.click(screen.getByTestId('invite-send'));
    await settle();
    expect(log).toContainEqual({ cmd: 'invite_member', args: { email: 'dee@example.com', role: 'agent' } });
    const link = await screen.findByTestId('invite-link');
    expect(link).toHaveTextContent('dee@example.com');
    expect(within(link).getByRole('textbox')).toHaveValue('dataoptix://join?relay=x&invitation=y#secret');
  });

  it("shows the relay's refusal as it said it", async () => {
    mockCommands({
      team: () => teamView(),
      change_member_role: () => Promise.reject({ kind: 'conflict', message: 'the workspace must keep an owner' }),
    });
    render(Team);
    const members = await screen.findAllByTestId('team-member');
    await fireEvent.change(within(nth(members, 1)).getByRole('combobox'), { target: { value: 'admin' } });
    expect(await screen.findByTestId('team-error')).toHaveTextContent('the workspace must keep an owner');
  });

  it('an agent sees the team but no management', async () => {
    mockCommands({
      team: () =>
        teamView({
          myRole: 'agent',
          canManage: false,
          invitations: [],
          members: teamView().members.map((m) => ({ ...m, isMe: m.id === AGENT })),
        }),
    });
    render(Team);
    const members = await screen.findAllByTestId('team-member');
    expect(members.every((m) => within(m).queryByRole('combobox') === null)).toBe(true);
    expect(screen.queryByTestId('invite-send')).toBeNull();
    expect(screen.getByText('Only owners and admins can invite people or change roles.')).toBeInTheDocument();
  });
});
