/** Guards for the media URLs the webview is asked to load. */

// Only the app's own media protocol (or an asset URL of the shell) is loaded; anything that
// could run script or leave the machine (javascript:, data:, remote http) is refused even
// though Rust is meant to send only safe URLs.
const SAFE = /^(dataoptix-media:|asset:|https?:\/\/(asset|dataoptix-media)\.localhost\/)/i;

export function safeMediaUrl(url: string | null): string | null {
  if (url === null) return null;
  return SAFE.test(url.trim()) ? url.trim() : null;
}
