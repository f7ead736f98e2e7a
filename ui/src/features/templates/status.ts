/** How a template's review status reads and looks. */
import { t } from '$lib/i18n';

export function statusTone(status: string | null): 'good' | 'warn' | 'bad' | 'neutral' {
  switch (status) {
    case 'APPROVED':
      return 'good';
    case 'PENDING':
    case 'IN_APPEAL':
    case 'PAUSED':
      return 'warn';
    case 'REJECTED':
    case 'DISABLED':
      return 'bad';
    default:
      return 'neutral';
  }
}

export function statusLabel(status: string | null): string {
  switch (status) {
    case 'APPROVED':
      return t('templates.status.approved');
    case 'PENDING':
      return t('templates.status.pending');
    case 'REJECTED':
      return t('templates.status.rejected');
    case 'PAUSED':
      return t('templates.status.paused');
    case 'DISABLED':
      return t('templates.status.disabled');
    case null:
      return t('templates.status.unknown');
    default:
      return status.toLowerCase().replaceAll('_', ' ');
  }
}
