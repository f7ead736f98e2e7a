// Words for the activity log's actions. The core writes a closed set of ids (the callers of
// `privacy::activity::record` in crates/core); an id this build does not know (an entry
// written by a newer version) is shown as it came.
import { t, type PlainMessageKey } from '$lib/i18n';

const ACTIONS: Record<string, PlainMessageKey> = {
  'account.register': 'activity.action.account.register',
  'account.sign_in': 'activity.action.account.sign_in',
  'account.sign_in_failed': 'activity.action.account.sign_in_failed',
  'account.join': 'activity.action.account.join',
  'account.sign_out': 'activity.action.account.sign_out',
  'message.send': 'activity.action.message.send',
  'broadcast.start': 'activity.action.broadcast.start',
  'broadcast.pause': 'activity.action.broadcast.pause',
  'broadcast.resume': 'activity.action.broadcast.resume',
  'broadcast.cancel': 'activity.action.broadcast.cancel',
  'templates.create': 'activity.action.templates.create',
  'templates.edit': 'activity.action.templates.edit',
  'templates.delete': 'activity.action.templates.delete',
  'privacy.export': 'activity.action.privacy.export',
  'privacy.erase_contact': 'activity.action.privacy.erase_contact',
  'privacy.erase_contact_synced': 'activity.action.privacy.erase_contact_synced',
  'privacy.correct_contact': 'activity.action.privacy.correct_contact',
  'privacy.restrict_contact': 'activity.action.privacy.restrict_contact',
  'privacy.unrestrict_contact': 'activity.action.privacy.unrestrict_contact',
  'privacy.retention_policy': 'activity.action.privacy.retention_policy',
  'privacy.retention_policy_synced': 'activity.action.privacy.retention_policy_synced',
  'privacy.retention_applied': 'activity.action.privacy.retention_applied',
  'team.change_refused': 'activity.action.team.change_refused',
};

/** Every action id with a label, for tests. */
export const KNOWN_ACTIONS: readonly string[] = Object.keys(ACTIONS);

/** What an action id means, in words; the id itself when it is not one this build knows. */
export function actionLabel(action: string): string {
  return Object.hasOwn(ACTIONS, action) ? t(ACTIONS[action] as PlainMessageKey) : action;
}

// The subject of `team.change_refused` is the refused device event's wire `type`: only the
// kinds an owner or admin may share (`DeviceEvent::needs_manager` in crates/protocol).
const REFUSED_CHANGES: Record<string, PlainMessageKey> = {
  contact_erased: 'activity.refused.contact_erased',
  retention_policy_set: 'activity.refused.retention_policy_set',
  number_connected: 'activity.refused.number_connected',
};

/** Every refused-change kind with words, for tests. */
export const KNOWN_REFUSED_CHANGES: readonly string[] = Object.keys(REFUSED_CHANGES);

/** An entry's subject in words where the action names a kind of change; else as it came. */
export function subjectLabel(action: string, subject: string | null): string {
  if (subject === null) return '';
  if (action === 'team.change_refused' && Object.hasOwn(REFUSED_CHANGES, subject)) {
    return t(REFUSED_CHANGES[subject] as PlainMessageKey);
  }
  return subject;
}
