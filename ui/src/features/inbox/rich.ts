/** The kinds of message the composer's "more" menu builds (RichMessageDialog). */
export type RichKind = 'location' | 'buttons' | 'list' | 'contact';

export const RICH_KINDS: readonly RichKind[] = ['location', 'buttons', 'list', 'contact'];
