/** The core's bound (device::privacy::MAX_RETENTION_DAYS): "forever" is an empty field. */
export const MAX_DAYS = 36_500;

/**
 * A retention field as typed: empty keeps forever (`null`), a whole number of days from 1 to
 * {@link MAX_DAYS} is kept, anything else is `'invalid'` (the form says so and will not save).
 */
export function parseDays(text: string): number | null | 'invalid' {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (!/^\d+$/.test(trimmed)) return 'invalid';
  const days = Number(trimmed);
  return days >= 1 && days <= MAX_DAYS ? days : 'invalid';
}
