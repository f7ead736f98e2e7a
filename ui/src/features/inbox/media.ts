/** Guards and labels for the media the thread shows. */

import { t } from '$lib/i18n';
import type { MediaView } from '$lib/ipc';

// Only the app's own `media` protocol is loaded: `media://localhost/<message id>` (WebKitGTK,
// WKWebView) or its Windows form `http(s)://media.localhost/<message id>`. Anything that
// could run script or leave the machine (javascript:, data:, remote http) is refused even
// though Rust is meant to send only safe URLs.
const SAFE = /^(media:\/\/localhost\/\d+|https?:\/\/media\.localhost\/\d+)$/i;

export function safeMediaUrl(url: string | null): string | null {
  if (url === null) return null;
  const trimmed = url.trim();
  if (!SAFE.test(trimmed)) return null;
  return forPlatform(trimmed);
}

// WebView2 (Windows) serves custom schemes as http://<scheme>.localhost/; the core always
// names the file `media://localhost/<id>`.
function forPlatform(url: string): string {
  const windows = typeof navigator !== 'undefined' && /Windows/i.test(navigator.userAgent);
  return windows ? url.replace(/^media:\/\/localhost\//i, 'http://media.localhost/') : url;
}

/** What to say while the file cannot be shown. */
export function mediaStateText(media: MediaView | null): string {
  if (media === null) return t('media.unavailable');
  switch (media.state) {
    case 'pending':
      return t('media.pending');
    case 'downloading':
      return t('media.downloading');
    case 'failed':
      return media.error !== null && media.error.trim() !== ''
        ? t('media.unavailableReason', { reason: media.error })
        : t('media.failed');
    default:
      // `done` but no URL this build loads: not shown rather than loaded from elsewhere.
      return t('media.unavailable');
  }
}

/** A voice note: WhatsApp's `voice: true` audio (older rows may say so by kind). */
export function isVoice(kind: string, media: MediaView | null): boolean {
  return kind === 'voice' || (kind === 'audio' && media?.voice === true);
}
