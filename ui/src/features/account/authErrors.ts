/** How a refused account action is explained, by error kind. */
import { t } from '$lib/i18n';
import type { IpcError } from '$lib/ipc';

export function authErrorMessage(error: IpcError, relayUrl: string | null): string {
  switch (error.kind) {
    case 'unauthenticated':
      return t('auth.error.unauthenticated');
    case 'relayUnreachable':
      return t('auth.error.relayUnreachable', { url: relayUrl ?? '' });
    case 'conflict':
      return t('auth.error.conflict');
    case 'invalidInput':
      return t('auth.error.invalidInput', { message: error.message });
    case 'notFound':
      return t('auth.error.notFound');
    case 'unavailable':
      return t('common.error.unavailable');
    default:
      return t('auth.error.other', { message: error.message });
  }
}
