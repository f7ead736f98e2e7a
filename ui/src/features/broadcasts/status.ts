// Words and colours for a broadcast's status and a recipient's state. The core sends closed
// sets of strings (broadcast/view.rs); anything else is shown as it came.
import { t, type PlainMessageKey } from '$lib/i18n';

type Tone = 'neutral' | 'good' | 'warn' | 'bad' | 'accent';

const STATUS: Record<string, { key: PlainMessageKey; tone: Tone }> = {
  sending: { key: 'broadcasts.status.sending', tone: 'accent' },
  paused: { key: 'broadcasts.status.paused', tone: 'warn' },
  cancelled: { key: 'broadcasts.status.cancelled', tone: 'neutral' },
  completed: { key: 'broadcasts.status.completed', tone: 'good' },
};

const STATE: Record<string, { key: PlainMessageKey; tone: Tone }> = {
  queued: { key: 'broadcasts.state.queued', tone: 'neutral' },
  sent: { key: 'broadcasts.state.sent', tone: 'accent' },
  delivered: { key: 'broadcasts.state.delivered', tone: 'accent' },
  read: { key: 'broadcasts.state.read', tone: 'good' },
  failed: { key: 'broadcasts.state.failed', tone: 'bad' },
  skipped: { key: 'broadcasts.state.skipped', tone: 'warn' },
  cancelled: { key: 'broadcasts.state.cancelled', tone: 'neutral' },
};

export function statusLabel(status: string): string {
  const known = STATUS[status];
  return known === undefined ? status : t(known.key);
}

export function statusTone(status: string): Tone {
  return STATUS[status]?.tone ?? 'neutral';
}

export function recipientStateLabel(state: string): string {
  const known = STATE[state];
  return known === undefined ? state : t(known.key);
}

export function recipientStateTone(state: string): Tone {
  return STATE[state]?.tone ?? 'neutral';
}

/**
 * A recipient's address as people read it: `+` and the digits for a phone number; a
 * business-scoped user id (a contact without a number) as it is.
 */
export function displayPhone(phone: string): string {
  return /^\d+$/.test(phone) ? `+${phone}` : phone;
}
