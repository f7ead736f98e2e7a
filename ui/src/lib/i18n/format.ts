/**
 * Locale-aware formatting, built on Intl. Formatters are cached per locale and options,
 * because constructing Intl objects is comparatively expensive and lists render many rows.
 */

const FALLBACK_LOCALE = 'en';

let override: string | undefined;

/** The user's preferred locales, most preferred first (from the webview's settings). */
export function userLocales(): readonly string[] {
  if (override !== undefined) return [override];
  if (typeof navigator !== 'undefined') {
    // WebKitGTK passes the POSIX locale through: with LANG=C (or C.UTF-8, POSIX) the
    // language is "C", which every Intl constructor refuses with a RangeError — and a
    // formatter that throws takes the whole list it renders with it. Keep valid tags only.
    const valid = navigator.languages.filter(isLocale);
    if (valid.length > 0) return valid;
  }
  return [FALLBACK_LOCALE];
}

function isLocale(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length > 0;
  } catch {
    return false;
  }
}

/** Forces one locale (settings, tests); `undefined` goes back to the system's. */
export function setLocaleOverride(locale: string | undefined): void {
  override = locale;
  cache.clear();
}

const cache = new Map<string, unknown>();

function cached<T>(kind: string, options: object, make: (locales: string[]) => T): T {
  const locales = [...userLocales()];
  const id = `${kind}|${locales.join(',')}|${JSON.stringify(options)}`;
  let formatter = cache.get(id) as T | undefined;
  if (formatter === undefined) {
    formatter = make(locales);
    cache.set(id, formatter);
  }
  return formatter;
}

export function formatNumber(value: number, options: Intl.NumberFormatOptions = {}): string {
  return cached('number', options, (l) => new Intl.NumberFormat(l, options)).format(value);
}

/** An amount of money; `currency` is an ISO 4217 code such as "EUR". */
export function formatCurrency(
  amount: number,
  currency: string,
  options: Intl.NumberFormatOptions = {},
): string {
  const all: Intl.NumberFormatOptions = { ...options, style: 'currency', currency };
  return cached('number', all, (l) => new Intl.NumberFormat(l, all)).format(amount);
}

type DateInput = Date | number;

export function formatDate(
  value: DateInput,
  options: Intl.DateTimeFormatOptions = { dateStyle: 'medium' },
): string {
  return cached('date', options, (l) => new Intl.DateTimeFormat(l, options)).format(value);
}

export function formatTime(value: DateInput): string {
  return formatDate(value, { timeStyle: 'short' });
}

export function formatDateTime(value: DateInput): string {
  return formatDate(value, { dateStyle: 'medium', timeStyle: 'short' });
}

const RELATIVE_STEPS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.345],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

/** "5 minutes ago", "in 2 hours", "yesterday": `value` relative to `now`. */
export function formatRelativeTime(value: DateInput, now: DateInput = Date.now()): string {
  const options: Intl.RelativeTimeFormatOptions = { numeric: 'auto' };
  const formatter = cached('relative', options, (l) => new Intl.RelativeTimeFormat(l, options));
  let amount = (Number(value) - Number(now)) / 1000;
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) return formatter.format(Math.round(amount), unit);
    amount /= size;
  }
  return formatter.format(Math.round(amount), 'year');
}

/** "Ana, Ben and Chloé" in the user's language. */
export function formatList(items: readonly string[], type: Intl.ListFormatType = 'conjunction'): string {
  const options: Intl.ListFormatOptions = { style: 'long', type };
  return cached('list', options, (l) => new Intl.ListFormat(l, options)).format(items);
}
