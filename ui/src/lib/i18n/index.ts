import { en } from './en';
import { formatNumber } from './format';

export type { Catalogue } from './en';
export * from './format';

type Messages = typeof en;

/** Every key of the catalogue. A typo in a key is a type error. */
export type MessageKey = keyof Messages;

/** The `{placeholder}` names inside a message literal. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | Placeholders<Rest>
  : never;

/** The values a message needs: nothing for plain messages, an object for ones with placeholders. */
export type MessageParams<K extends MessageKey> = [Placeholders<Messages[K]>] extends [never]
  ? []
  : [params: Record<Placeholders<Messages[K]>, string | number>];

/** Keys of messages without placeholders: what a table of labels can hold. */
export type PlainMessageKey = {
  [K in MessageKey]: [Placeholders<Messages[K]>] extends [never] ? K : never;
}[MessageKey];

const catalogue: Record<MessageKey, string> = en;

/**
 * Renders a message of the catalogue, filling its `{placeholders}`.
 *
 * Numbers are formatted for the current locale. Values are inserted as text: the result
 * is meant for Svelte text interpolation, which never parses HTML.
 */
export function t<K extends MessageKey>(key: K, ...args: MessageParams<K>): string {
  // Only reachable past the type checker (e.g. a key built at run time): show the key.
  const message = Object.hasOwn(catalogue, key) ? catalogue[key] : key;
  const params: Record<string, string | number> | undefined = args[0];
  if (params === undefined) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}
