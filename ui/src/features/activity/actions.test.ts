import { describe, expect, it } from 'vitest';
import { actionLabel, KNOWN_ACTIONS, KNOWN_REFUSED_CHANGES, subjectLabel } from './actions';

// What crates/core writes to the activity log (`privacy::activity::record` and `record_in`).
const CORE_ACTIONS = [
  'account.register',
  'account.sign_in',
  'account.sign_in_failed',
  'account.join',
  'account.sign_out',
  'message.send',
  'broadcast.start',
  'broadcast.pause',
  'broadcast.resume',
  'broadcast.cancel',
  'templates.create',
  'templates.edit',
  'templates.delete',
  'privacy.export',
  'privacy.erase_contact',
  'privacy.erase_contact_synced',
  'privacy.correct_contact',
  'privacy.restrict_contact',
  'privacy.unrestrict_contact',
  'privacy.retention_policy',
  'privacy.retention_policy_synced',
  'privacy.retention_applied',
  'team.change_refused',
];

describe('actionLabel', () => {
  it('names every action the core logs in words', () => {
    expect([...KNOWN_ACTIONS].sort()).toEqual([...CORE_ACTIONS].sort());
    const labels = CORE_ACTIONS.map(actionLabel);
    for (const [i, label] of labels.entries()) {
      expect(label, CORE_ACTIONS[i]).not.toBe(CORE_ACTIONS[i]);
      expect(label.trim(), CORE_ACTIONS[i]).not.toBe('');
    }
    expect(new Set(labels).size).toBe(labels.length);
    expect(actionLabel('message.send')).toBe('Sent a message');
    expect(actionLabel('account.sign_in')).toBe('Signed in');
  });

  it('shows an action it does not know as it came', () => {
    expect(actionLabel('billing.refund')).toBe('billing.refund');
    expect(actionLabel('')).toBe('');
    // Not an own key of the table: no inherited property stands in for a label.
    expect(actionLabel('constructor')).toBe('constructor');
    expect(actionLabel('toString')).toBe('toString');
  });
});

describe('subjectLabel', () => {
  it('names every change an owner or admin shares, when the relay refused it', () => {
    // `DeviceEvent::needs_manager` in crates/protocol: the only kinds that can be refused.
    expect([...KNOWN_REFUSED_CHANGES].sort()).toEqual(['contact_erased', 'number_connected', 'retention_policy_set']);
    const labels = KNOWN_REFUSED_CHANGES.map((kind) => subjectLabel('team.change_refused', kind));
    for (const label of labels) expect(label).not.toMatch(/_/);
    expect(new Set(labels).size).toBe(labels.length);
    expect(subjectLabel('team.change_refused', 'contact_erased')).toBe('Erasing a customer everywhere');
  });

  it('leaves other subjects as they came', () => {
    expect(subjectLabel('privacy.erase_contact', 'contact_erased')).toBe('contact_erased');
    expect(subjectLabel('team.change_refused', 'label_set')).toBe('label_set');
    expect(subjectLabel('team.change_refused', 'constructor')).toBe('constructor');
    expect(subjectLabel('message.send', '15550001111')).toBe('15550001111');
    expect(subjectLabel('account.sign_in', null)).toBe('');
  });
});
