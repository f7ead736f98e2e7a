/** Time formatting for the inbox. Timestamps from the contract are unix seconds. */
import { formatDate, formatNumber, formatTime } from '$lib/i18n';

export function sameDay(a: Date, b: Date): boolean {
  return (
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  );
}

/** Today: the time; otherwise the date (locale formatted). */
export function listTime(unixSeconds: number, nowMs: number = Date.now()): string {
  const at = new Date(unixSeconds * 1000);
  return sameDay(at, new Date(nowMs)) ? formatTime(at) : formatDate(at, { dateStyle: 'short' });
}

/** Whole hours and minutes left until `expiresAt` (unix seconds), or null when past. */
export function timeLeft(
  expiresAt: number | null,
  nowMs: number,
): { hours: number; minutes: number } | null {
  if (expiresAt === null) return null;
  const seconds = Math.floor(expiresAt - nowMs / 1000);
  if (seconds <= 0) return null;
  const minutes = Math.ceil(seconds / 60);
  return { hours: Math.floor(minutes / 60), minutes: minutes % 60 };
}

/** Whether free-form messages may be sent now, from the window state and the clock. */
export function windowOpen(
  window: { open: boolean; expiresAt: number | null },
  nowMs: number,
): boolean {
  if (!window.open) return false;
  // An open window without an expiry is taken at its word; one with an expiry closes on time.
  return window.expiresAt === null || timeLeft(window.expiresAt, nowMs) !== null;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${formatNumber(value, { maximumFractionDigits: digits })} ${units[unit] ?? 'B'}`;
}
