/**
 * Client-side checks of the account forms. They catch obvious mistakes before a round trip;
 * the relay still decides (and its refusals are shown by kind).
 */
import { t } from '$lib/i18n';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const MIN_PASSWORD = 10;

export function required(value: string): string | null {
  return value.trim() === '' ? t('form.required') : null;
}

export function emailError(value: string): string | null {
  if (value.trim() === '') return t('form.required');
  return EMAIL.test(value.trim()) ? null : t('form.emailInvalid');
}

export function passwordError(value: string): string | null {
  if (value === '') return t('form.required');
  return value.length < MIN_PASSWORD ? t('form.passwordShort', { min: MIN_PASSWORD }) : null;
}

export function confirmError(password: string, confirm: string): string | null {
  if (confirm === '') return t('form.required');
  return password === confirm ? null : t('form.passwordMismatch');
}

export function relayUrlError(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return t('form.required');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return t('form.urlInvalid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return t('form.urlInvalid');
  return null;
}

export function inviteLinkError(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return t('form.required');
  try {
    const url = new URL(trimmed);
    return ['https:', 'http:', 'dataoptix:'].includes(url.protocol) ? null : t('form.inviteInvalid');
  } catch {
    return t('form.inviteInvalid');
  }
}

export type Strength = 0 | 1 | 2 | 3 | 4;

/**
 * A rough strength score: length carries most of it, variety of character classes the rest.
 * Only a hint for the user; the minimum length is the rule.
 */
export function passwordStrength(value: string): Strength {
  if (value.length === 0) return 0;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value))
    .length;
  let score = 0;
  if (value.length >= MIN_PASSWORD) score++;
  if (value.length >= 14) score++;
  if (classes >= 3) score++;
  if (value.length >= 18 || (classes === 4 && value.length >= 12)) score++;
  return Math.max(1, Math.min(4, score)) as Strength;
}
