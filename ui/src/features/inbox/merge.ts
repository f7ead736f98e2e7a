/**
 * Pure list logic of the inbox: ordering and merging conversations and messages by id, and
 * grouping reactions. Kept out of the rune modules so plain Maps are plainly local.
 */
import type { ConversationSummary, MessageView } from '$lib/ipc';

/** Newest activity first; equal times by id so the order is stable. */
export function byActivity(a: ConversationSummary, b: ConversationSummary): number {
  return b.lastMessageAt - a.lastMessageAt || b.id - a.id;
}

/** Merges `incoming` into `current` by id (incoming wins) and keeps the list ordered. */
export function mergeConversations(
  current: readonly ConversationSummary[],
  incoming: readonly ConversationSummary[],
): ConversationSummary[] {
  const byId = new Map<number, ConversationSummary>();
  for (const c of current) byId.set(c.id, c);
  for (const c of incoming) byId.set(c.id, c);
  return [...byId.values()].sort(byActivity);
}

/** Oldest first, as a thread shows them; equal times by id. */
export function chronological(a: MessageView, b: MessageView): number {
  return a.ts - b.ts || a.id - b.id;
}

export function mergeMessages(
  current: readonly MessageView[],
  incoming: readonly MessageView[],
): MessageView[] {
  const byId = new Map<number, MessageView>();
  for (const m of current) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort(chronological);
}

/** One chip per emoji with who reacted; an empty emoji is a removed reaction. */
export function groupReactions(
  reactions: readonly { emoji: string; by: string }[],
): { emoji: string; by: string[] }[] {
  const byEmoji = new Map<string, string[]>();
  for (const r of reactions) {
    if (r.emoji === '') continue;
    byEmoji.set(r.emoji, [...(byEmoji.get(r.emoji) ?? []), r.by]);
  }
  return [...byEmoji.entries()].map(([emoji, by]) => ({ emoji, by }));
}
