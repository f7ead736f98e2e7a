// The status line shown while an export is written: contacts, then media files.
import { t } from '$lib/i18n';
import type { ExportProgress } from '$lib/ipc';

export function exportProgressText(progress: ExportProgress | null): string {
  if (progress === null || progress.total === 0) return t('export.saving');
  const counts = { done: progress.done, total: progress.total };
  return progress.stage === 'media' ? t('export.progressMedia', counts) : t('export.progress', counts);
}
