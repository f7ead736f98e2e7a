import type { AppInfo } from '$lib/ipc';
import { t } from '$lib/i18n';

/** "v23.0" whether the shell reports "v23.0" or "23.0". */
export function graphVersionLabel(graphVersion: string): string {
  const trimmed = graphVersion.trim();
  return /^v/i.test(trimmed) ? `v${trimmed.slice(1)}` : `v${trimmed}`;
}

/** "Version 0.1.0 · Graph API v23.0". */
export function versionLine(info: AppInfo): string {
  const parts = [t('welcome.version', { version: info.version })];
  if (info.graphVersion.trim() !== '') {
    parts.push(t('welcome.graphVersion', { graphVersion: graphVersionLabel(info.graphVersion) }));
  }
  return parts.join(' · ');
}

/** At most `max` characters (whole code points), with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}
