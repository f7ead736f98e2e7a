import { describe, expect, it, vi } from 'vitest';
import { en } from './en';
import {
  formatCurrency,
  formatDate,
  formatList,
  formatNumber,
  formatRelativeTime,
  setLocaleOverride,
  t,
} from './index';

describe('t', () => {
  it('returns plain messages', () => {
    expect(t('app.name')).toBe('DataOptix');
  });

  it('fills placeholders', () => {
    expect(t('welcome.version', { version: '0.1.0' })).toBe('Version 0.1.0');
  });

  it('formats numeric placeholders for the locale', () => {
    setLocaleOverride('de-DE');
    expect(t('welcome.version', { version: 1234.5 })).toBe('Version 1.234,5');
  });

  it('inserts values literally, without re-expanding placeholders', () => {
    expect(t('welcome.error.details', { message: '{message} <b>' })).toBe(
      'Details: {message} <b>',
    );
  });

  it('type-checks keys and placeholders', () => {
    // @ts-expect-error: unknown key
    expect(t('welcome.nope')).toBe('welcome.nope');
    // @ts-expect-error: the message needs {version}
    expect(t('welcome.version')).toBe('Version {version}');
    // @ts-expect-error: wrong placeholder name
    expect(t('welcome.version', { release: '1' })).toBe('Version {version}');
  });

  it('has no empty message in the catalogue', () => {
    for (const [key, message] of Object.entries(en)) {
      expect(message.trim(), key).not.toBe('');
    }
  });
});

describe('format helpers', () => {
  const instant = Date.UTC(2025, 0, 15, 12, 0, 0);

  it('formats numbers and currencies per locale', () => {
    expect(formatNumber(1234567.891)).toBe('1,234,567.891');
    expect(formatCurrency(12.5, 'USD')).toBe('$12.50');
    setLocaleOverride('fr-FR');
    expect(formatNumber(1234.5)).toBe('1\u202f234,5');
    expect(formatCurrency(12.5, 'EUR')).toBe('12,50\u00a0€');
  });

  it('formats dates per locale', () => {
    expect(formatDate(instant, { dateStyle: 'long', timeZone: 'UTC' })).toBe('January 15, 2025');
    setLocaleOverride('de-DE');
    expect(formatDate(instant, { dateStyle: 'long', timeZone: 'UTC' })).toBe('15. Januar 2025');
  });

  it('formats relative times', () => {
    expect(formatRelativeTime(instant - 5 * 60_000, instant)).toBe('5 minutes ago');
    expect(formatRelativeTime(instant + 2 * 3_600_000, instant)).toBe('in 2 hours');
    expect(formatRelativeTime(instant - 86_400_000, instant)).toBe('yesterday');
  });

  it('falls back to English when the system locale is not a language tag (LANG=C)', () => {
    const languages = vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['C']);
    try {
      setLocaleOverride(undefined);
      expect(formatDate(instant, { dateStyle: 'long', timeZone: 'UTC' })).toBe('January 15, 2025');
      expect(formatNumber(1234.5)).toBe('1,234.5');
      languages.mockReturnValue(['C', 'de-DE']);
      setLocaleOverride(undefined);
      expect(formatNumber(1234.5)).toBe('1.234,5');
    } finally {
      languages.mockRestore();
    }
  });

  it('formats lists', () => {
    expect(formatList(['Ana', 'Ben', 'Chloé'])).toBe('Ana, Ben, and Chloé');
  });
});
