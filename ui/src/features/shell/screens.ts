/**
 * The screens behind the rail other than the inbox, each in its own chunk: a start-up parses
 * only the code of the screen it shows (the inbox is most of what a signed-in person opens
 * to), and the others load when first shown — or earlier, once the first screen is painted
 * and the window is idle (`prefetchScreens`), so that switching to them stays instant.
 */
import type { Component } from 'svelte';

type Loader = () => Promise<{ default: Component<never> }>;

export const screens = {
  contacts: () => import('$features/contacts/Contacts.svelte'),
  templates: () => import('$features/templates/Templates.svelte'),
  broadcasts: () => import('$features/broadcasts/Broadcasts.svelte'),
  activity: () => import('$features/activity/Activity.svelte'),
  settings: () => import('$features/settings/Settings.svelte'),
} satisfies Record<string, Loader>;

/** How long after the first paint the other screens' code is fetched and parsed. */
export const PREFETCH_DELAY_MS = 2000;

/**
 * Loads every screen's code after `delayMs`, one after another so that each parse is a short
 * task between the inbox's own work. A failure is left for the screen to report when opened.
 * Returns a function that cancels what has not started.
 */
export function prefetchScreens(
  delayMs = PREFETCH_DELAY_MS,
  loaders: readonly Loader[] = Object.values(screens),
): () => void {
  let cancelled = false;
  const timer = setTimeout(() => {
    void (async () => {
      for (const load of loaders) {
        if (cancelled) return;
        await load().catch(() => undefined);
      }
    })();
  }, delayMs);
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
