// The new-broadcast form as plain data: where recipients come from, where each template
// variable's value comes from, and the `BroadcastForm` the core plans and sends from. Kept out
// of the components so the rules are tested without a DOM.
import type {
  BroadcastCounts,
  BroadcastForm,
  ParamSource,
  RecipientSource,
  TemplateView,
} from '$lib/ipc';
import {
  emptyHeader,
  headerComplete,
  headerInput,
  optionalButton,
  valueButtons,
  type HeaderChoice,
} from '$features/templates/fill';

/** How the recipients are chosen. */
export type RecipientMode = 'label' | 'contacts' | 'csv';

/** One template variable's value: typed once for everyone, a CSV column, or the name. */
export type ParamChoice =
  | { kind: 'fixed'; value: string }
  | { kind: 'column'; column: string }
  | { kind: 'contactName' };

export type Draft = {
  name: string;
  /** The sending number; `null` lets the core use the workspace's only one. */
  phoneNumberId: string | null;
  mode: RecipientMode;
  label: string;
  contactIds: number[];
  /** The CSV file's text (read in the webview; never uploaded anywhere). */
  csvText: string;
  csvFileName: string;
  template: TemplateView | null;
  body: ParamChoice[];
  header: ParamChoice[];
  /** One per button that takes a value (a link's ending, a coupon code). */
  buttons: ParamChoice[];
  /** The file, address or place of a media or location header: the same for everyone. */
  headerMedia: HeaderChoice;
};

export function emptyDraft(): Draft {
  return {
    name: '',
    phoneNumberId: null,
    mode: 'label',
    label: '',
    contactIds: [],
    csvText: '',
    csvFileName: '',
    template: null,
    body: [],
    header: [],
    buttons: [],
    headerMedia: emptyHeader(),
  };
}

/** Only approved templates can be broadcast (Meta refuses the others). */
export function isSendable(template: TemplateView): boolean {
  return template.status === 'APPROVED';
}

/** Fresh, empty value choices for every variable of the template. */
export function choicesFor(template: TemplateView): Pick<Draft, 'body' | 'header' | 'buttons' | 'headerMedia'> {
  const fixed = (): ParamChoice => ({ kind: 'fixed', value: '' });
  return {
    body: Array.from({ length: template.paramCount }, fixed),
    header: Array.from({ length: template.headerParamCount }, fixed),
    buttons: valueButtons(template).map(fixed),
    headerMedia: emptyHeader(),
  };
}

/**
 * The CSV's column names as the core reads them (lower-cased, trimmed), from its header line:
 * `;`-separated when that line has semicolons and no commas, else `,`; quoted names may hold
 * the separator. Empty when there is no header.
 */
export function csvColumns(text: string): string[] {
  const body = text.startsWith('\u{feff}') ? text.slice(1) : text;
  const header = body.split(/\r?\n/).find((line) => line.trim() !== '');
  if (header === undefined) return [];
  const separator = header.includes(';') && !header.includes(',') ? ';' : ',';
  const names: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < header.length; i += 1) {
    const c = header.charAt(i);
    if (quoted) {
      if (c === '"' && header.charAt(i + 1) === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (c === separator) {
      names.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  names.push(field);
  return names.map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
}

/** The header names the core accepts for the phone-number column (csv.rs `PHONE_COLUMNS`). */
const PHONE_COLUMNS = ['phone', 'phone_number', 'phone number', 'number', 'mobile', 'wa_id', 'whatsapp'];

/** Columns a variable can take its value from: every column but the phone number. */
export function valueColumns(columns: string[]): string[] {
  return columns.filter((c) => !PHONE_COLUMNS.includes(c));
}

/** The largest CSV file read (the core takes at most 100,000 rows, held in memory). */
export const CSV_MAX_BYTES = 20 * 1024 * 1024;

export function hasPhoneColumn(columns: string[]): boolean {
  return columns.some((c) => PHONE_COLUMNS.includes(c));
}

function source(choice: ParamChoice): ParamSource {
  switch (choice.kind) {
    case 'fixed':
      return { kind: 'fixed', value: choice.value.trim() };
    case 'column':
      return { kind: 'column', column: choice.column };
    case 'contactName':
      return { kind: 'contactName' };
  }
}

function recipients(draft: Draft): RecipientSource | null {
  switch (draft.mode) {
    case 'label':
      return draft.label.trim() === '' ? null : { kind: 'label', label: draft.label.trim() };
    case 'contacts':
      return draft.contactIds.length === 0 ? null : { kind: 'contacts', contactIds: [...draft.contactIds] };
    case 'csv':
      return draft.csvText.trim() === '' ? null : { kind: 'csv', text: draft.csvText };
  }
}

/** What is still missing before the core can plan the broadcast (empty when complete). */
export type Missing = 'name' | 'recipients' | 'template' | 'values' | 'header';

export function missing(draft: Draft): Missing[] {
  const out: Missing[] = [];
  if (draft.name.trim() === '') out.push('name');
  if (recipients(draft) === null) out.push('recipients');
  if (draft.template === null) out.push('template');
  // A column only means something with a CSV import.
  const unset = (c: ParamChoice): boolean =>
    (c.kind === 'fixed' && c.value.trim() === '') ||
    (c.kind === 'column' && (c.column === '' || draft.mode !== 'csv'));
  // An authentication template's code button left empty gets each recipient's body code.
  const buttons = draft.template === null ? [] : valueButtons(draft.template);
  const mayStayEmpty = (c: ParamChoice, i: number): boolean => {
    const button = buttons[i];
    return c.kind === 'fixed' && draft.template !== null && button !== undefined && optionalButton(draft.template, button);
  };
  const buttonUnset = draft.buttons.some((c, i) => unset(c) && !mayStayEmpty(c, i));
  if ([...draft.body, ...draft.header].some(unset) || buttonUnset) out.push('values');
  if (draft.template !== null && !headerComplete(draft.template, draft.headerMedia)) out.push('header');
  return out;
}

/**
 * The form the core plans from, once recipients, template and every value are chosen (the
 * name may still be empty for a preview); otherwise `null`.
 */
export function toForm(draft: Draft): BroadcastForm | null {
  const to = recipients(draft);
  const blocking = missing(draft).filter((m) => m !== 'name');
  if (to === null || draft.template === null || blocking.length > 0) return null;
  return {
    name: draft.name.trim(),
    phoneNumberId: draft.phoneNumberId,
    templateName: draft.template.name,
    language: draft.template.language,
    body: draft.body.map(source),
    header: draft.header.map(source),
    buttons: draft.buttons.map(source),
    headerMedia: headerInput(draft.template, draft.headerMedia),
    recipients: to,
  };
}

/**
 * The cumulative figures people expect ("sent" includes what was delivered or read since):
 * the core counts each recipient once, in its latest state.
 */
export function reached(counts: BroadcastCounts): { sent: number; delivered: number; read: number } {
  return {
    sent: counts.sent + counts.delivered + counts.read,
    delivered: counts.delivered + counts.read,
    read: counts.read,
  };
}

/**
 * Percentages for the progress bar's segments (read, delivered, sent-only, failed), of all
 * recipients; zero for an empty broadcast.
 */
export function segments(counts: BroadcastCounts): { read: number; delivered: number; sent: number; failed: number } {
  const pct = (n: number): number => (counts.total === 0 ? 0 : (n / counts.total) * 100);
  return {
    read: pct(counts.read),
    delivered: pct(counts.delivered),
    sent: pct(counts.sent),
    failed: pct(counts.failed),
  };
}
