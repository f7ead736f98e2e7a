/** Plain words for the Embedded Signup screens a user can leave (Meta's `current_step`). */
import { t } from '$lib/i18n';

/** How often the outcome of a running Embedded Signup is asked for. */
export const ONBOARDING_POLL_MS = 1500;

export function stepName(step: string | null): string {
  switch (step) {
    case 'BUSINESS_ACCOUNT_SELECTION':
      return t('connect.step.business');
    case 'WABA_PHONE_PROFILE_PICKER':
      return t('connect.step.picker');
    case 'WHATSAPP_BUSINESS_PROFILE_SETUP':
      return t('connect.step.profile');
    case 'PHONE_NUMBER_SETUP':
      return t('connect.step.phone');
    case 'PHONE_NUMBER_VERIFICATION':
      return t('connect.step.verification');
    case 'PERMISSIONS':
      return t('connect.step.permissions');
    case null:
      return t('connect.step.unknown');
    default:
      return t('connect.step.other', { step: step.toLowerCase().replaceAll('_', ' ') });
  }
}

/** "TIER_2K" → "2K", "UNLIMITED" → "Unlimited": the daily business-initiated limit. */
export function limitLabel(limit: string | null): string {
  if (limit === null) return t('number.limit.unknown');
  if (limit === 'UNLIMITED') return t('number.limit.unlimited');
  const match = /^TIER_(\w+)$/.exec(limit);
  return t('number.limit.tier', { tier: match?.[1] ?? limit });
}

export function qualityTone(quality: string | null): 'good' | 'warn' | 'bad' | 'neutral' {
  switch (quality) {
    case 'GREEN':
      return 'good';
    case 'YELLOW':
      return 'warn';
    case 'RED':
      return 'bad';
    default:
      return 'neutral';
  }
}

export function qualityLabel(quality: string | null): string {
  switch (quality) {
    case 'GREEN':
      return t('number.quality.high');
    case 'YELLOW':
      return t('number.quality.medium');
    case 'RED':
      return t('number.quality.low');
    default:
      return t('number.quality.unknown');
  }
}
