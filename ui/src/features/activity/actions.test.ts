import { describe, expect, it } from 'vitest';
import { actionLabel, KNOWN_ACTIONS } from './actions';

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
