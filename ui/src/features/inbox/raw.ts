/**
 * Reads the parts of a message's `raw` JSON (what Meta sent, or what we sent) that the
 * thread shows for kinds without typed fields. Everything is untrusted: each reader checks
 * every type and returns null rather than guessing, and the values are only ever rendered
 * as text.
 */

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return null;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The message object inside `raw`: either raw is the message itself, or a whole webhook
 * payload (`entry[].changes[].value.messages[]`) from which the first message is taken.
 */
export function messageObject(raw: string): Json | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  if (Array.isArray(parsed.entry)) {
    for (const entry of parsed.entry) {
      if (!isRecord(entry)) continue;
      for (const change of list(entry.changes)) {
        if (!isRecord(change) || !isRecord(change.value)) continue;
        const first = list(change.value.messages)[0];
        if (isRecord(first)) return first;
      }
    }
    return null;
  }
  return parsed;
}

/** `raw` pretty-printed for the "show raw data" disclosure (as is when not JSON). */
export function prettyRaw(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

export type SharedContact = { name: string; org: string | null; phones: string[] };

export function sharedContacts(raw: string): SharedContact[] {
  const message = messageObject(raw);
  if (message === null) return [];
  return list(message.contacts).flatMap((contact): SharedContact[] => {
    if (!isRecord(contact)) return [];
    const name = isRecord(contact.name)
      ? (str(contact.name.formatted_name) ??
        ([str(contact.name.first_name), str(contact.name.last_name)]
          .filter((part) => part !== null)
          .join(' ') ||
          null))
      : null;
    const phones = list(contact.phones).flatMap((phone) =>
      isRecord(phone) ? [str(phone.phone) ?? str(phone.wa_id)].filter((p) => p !== null) : [],
    );
    const org = isRecord(contact.org) ? str(contact.org.company) : null;
    if (name === null && phones.length === 0) return [];
    return [{ name: name ?? '', org, phones }];
  });
}

/** A reply the customer tapped (button / list reply, template quick reply, Flow response),
 *  or the buttons of an interactive message we sent. */
export type InteractiveView = {
  kind: 'buttonReply' | 'listReply' | 'flowReply' | 'quickReply' | 'sent';
  title: string | null;
  id: string | null;
  description: string | null;
  body: string | null;
  options: string[];
};

export function interactive(raw: string): InteractiveView | null {
  const message = messageObject(raw);
  if (message === null) return null;
  if (isRecord(message.button)) {
    return {
      kind: 'quickReply',
      title: str(message.button.text),
      id: str(message.button.payload),
      description: null,
      body: null,
      options: [],
    };
  }
  const inter = message.interactive;
  if (!isRecord(inter)) return null;
  const type = str(inter.type);
  if (type === 'button_reply' && isRecord(inter.button_reply)) {
    const r = inter.button_reply;
    return {
      kind: 'buttonReply',
      title: str(r.title),
      id: str(r.id),
      description: null,
      body: null,
      options: [],
    };
  }
  if (type === 'list_reply' && isRecord(inter.list_reply)) {
    const r = inter.list_reply;
    return {
      kind: 'listReply',
      title: str(r.title),
      id: str(r.id),
      description: str(r.description),
      body: null,
      options: [],
    };
  }
  if (type === 'nfm_reply' && isRecord(inter.nfm_reply)) {
    const r = inter.nfm_reply;
    return {
      kind: 'flowReply',
      title: str(r.name),
      id: null,
      description: null,
      body: str(r.body) ?? str(r.response_json),
      options: [],
    };
  }
  // An interactive message we sent: body text and the choices offered.
  const body = isRecord(inter.body) ? str(inter.body.text) : null;
  const action = isRecord(inter.action) ? inter.action : {};
  const buttons = list(action.buttons).flatMap((b) =>
    isRecord(b) && isRecord(b.reply) ? [str(b.reply.title)].filter((t) => t !== null) : [],
  );
  const rows = list(action.sections).flatMap((section) =>
    isRecord(section)
      ? list(section.rows).flatMap((row) =>
          isRecord(row) ? [str(row.title)].filter((t) => t !== null) : [],
        )
      : [],
  );
  const cta = isRecord(action.parameters) ? [str(action.parameters.display_text)] : [];
  const options = [...buttons, ...rows, ...cta.filter((t) => t !== null)];
  if (body === null && options.length === 0) return null;
  return { kind: 'sent', title: null, id: null, description: null, body, options };
}

export type OrderView = {
  itemCount: number;
  total: number | null;
  currency: string | null;
  note: string | null;
};

export function order(raw: string): OrderView | null {
  const message = messageObject(raw);
  if (message === null || !isRecord(message.order)) return null;
  const items = list(message.order.product_items).filter(isRecord);
  let itemCount = 0;
  let total: number | null = 0;
  let currency: string | null = null;
  for (const item of items) {
    const quantity = num(item.quantity) ?? 1;
    itemCount += quantity;
    const price = num(item.item_price);
    const cur = str(item.currency);
    if (total !== null && price !== null && (currency === null || cur === currency)) {
      total += price * quantity;
      currency = cur;
    } else {
      // Missing prices or mixed currencies: no honest total.
      total = null;
    }
  }
  return { itemCount, total: items.length > 0 ? total : null, currency, note: str(message.order.text) };
}

export type ReferralView = {
  headline: string | null;
  body: string | null;
  sourceType: string | null;
  sourceUrl: string | null;
};

export function referral(raw: string): ReferralView | null {
  const message = messageObject(raw);
  if (message === null || !isRecord(message.referral)) return null;
  const r = message.referral;
  return {
    headline: str(r.headline),
    body: str(r.body),
    sourceType: str(r.source_type),
    sourceUrl: str(r.source_url),
  };
}

export function systemBody(raw: string): string | null {
  const message = messageObject(raw);
  if (message === null || !isRecord(message.system)) return null;
  return str(message.system.body);
}

/** The type Meta did not support, when it says (`unsupported.type`), else null. */
export function unsupportedType(raw: string): string | null {
  const message = messageObject(raw);
  if (message === null) return null;
  if (isRecord(message.unsupported)) return str(message.unsupported.type);
  return null;
}

export function templateName(raw: string): string | null {
  const message = messageObject(raw);
  if (message === null || !isRecord(message.template)) return null;
  return str(message.template.name);
}
