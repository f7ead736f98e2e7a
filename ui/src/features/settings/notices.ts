// Words for the kinds of account notices (webhook fields the core keeps in `account_events`);
// a kind this build does not know (a field Meta added) is shown as it came.
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
