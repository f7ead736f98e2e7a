// Words for account notices: their kinds (webhook fields the core keeps in `account_events`)
// and the names of their facts (`device::notices::NoticeFact`, a closed set of keys). What this
// build does not know (a field Meta added) is shown as it came.
import { t, type PlainMessageKey } from '$lib/i18n';

const KINDS: Record<string, PlainMessageKey> = {
  account_update: 'notices.kind.account_update',
  account_review_update: 'notices.kind.account_review_update',
  account_alerts: 'notices.kind.account_alerts',
  business_capability_update: 'notices.kind.business_capability_update',
  phone_number_quality_update: 'notices.kind.phone_number_quality_update',
  phone_number_name_update: 'notices.kind.phone_number_name_update',
};

/** Every kind with a label, for tests. */
export const KNOWN_KINDS: readonly string[] = Object.keys(KINDS);

/** What a notice's kind means, in words; the kind itself when this build does not know it. */
export function kindLabel(kind: string): string {
  return Object.hasOwn(KINDS, kind) ? t(KINDS[kind] as PlainMessageKey) : kind;
}

const FACTS: Record<string, PlainMessageKey> = {
  ban_state: 'notices.fact.ban_state',
  violation: 'notices.fact.violation',
  restrictions: 'notices.fact.restrictions',
  disconnected: 'notices.fact.disconnected',
  number: 'notices.fact.number',
  severity: 'notices.fact.severity',
  status: 'notices.fact.status',
  description: 'notices.fact.description',
  conversations_per_number: 'notices.fact.conversations_per_number',
  conversations_per_business: 'notices.fact.conversations_per_business',
  numbers_per_business: 'notices.fact.numbers_per_business',
  numbers_per_account: 'notices.fact.numbers_per_account',
  limit: 'notices.fact.limit',
  old_limit: 'notices.fact.old_limit',
  name: 'notices.fact.name',
  reason: 'notices.fact.reason',
};

/** Every fact name with a label, for tests. */
export const KNOWN_FACTS: readonly string[] = Object.keys(FACTS);

/** A fact's name in words; the key itself when this build does not know it. */
export function factLabel(name: string): string {
  return Object.hasOwn(FACTS, name) ? t(FACTS[name] as PlainMessageKey) : name;
}
