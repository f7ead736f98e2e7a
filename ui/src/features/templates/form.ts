/**
 * The studio editor's state and its pure helpers. Meta's rules are checked in Rust
 * (`lint_template`); this module only shapes the form and places Rust's issues on its fields.
 */
import type { ButtonForm, LintIssue, TemplateForm } from '$lib/ipc';

export const CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION'] as const;
export const HEADER_FORMATS = ['NONE', 'TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION'] as const;
export const BUTTON_KINDS = ['QUICK_REPLY', 'URL', 'PHONE_NUMBER', 'COPY_CODE'] as const;
/** A few of Meta's language codes, offered as suggestions (any code may be typed). */
export const LANGUAGES = ['en_US', 'en_GB', 'en', 'es', 'es_MX', 'pt_BR', 'fr', 'de', 'it', 'ar', 'hi', 'id'];

export type HeaderFormat = (typeof HEADER_FORMATS)[number];

/** What the editor binds to: the header is always present (format `NONE` = no header). */
export type Draft = {
  name: string;
  language: string;
  category: string;
  header: { format: string; text: string; example: string };
  body: string;
  bodyExamples: string[];
  footer: string;
  buttons: DraftButton[];
};

/** A button as the editor binds it (every field a string; blanks become null on submit). */
export type DraftButton = { kind: string; text: string; url: string; phoneNumber: string; example: string };

export function emptyDraft(): Draft {
  return {
    name: '',
    language: 'en_US',
    category: 'UTILITY',
    header: { format: 'NONE', text: '', example: '' },
    body: '',
    bodyExamples: [],
    footer: '',
    buttons: [],
  };
}

export function draftOf(form: TemplateForm): Draft {
  return {
    name: form.name,
    language: form.language,
    category: form.category,
    header: {
      format: form.header?.format ?? 'NONE',
      text: form.header?.text ?? '',
      example: form.header?.example ?? '',
    },
    body: form.body,
    bodyExamples: [...form.bodyExamples],
    footer: form.footer ?? '',
    buttons: form.buttons.map((b: ButtonForm) => ({
      kind: b.kind,
      text: b.text,
      url: b.url ?? '',
      phoneNumber: b.phoneNumber ?? '',
      example: b.example ?? '',
    })),
  };
}

const opt = (s: string): string | null => (s.trim() === '' ? null : s);

export function formOf(draft: Draft): TemplateForm {
  const format = draft.header.format;
  return {
    name: draft.name.trim(),
    language: draft.language.trim(),
    category: draft.category,
    header:
      format === 'NONE'
        ? null
        : {
            format,
            text: format === 'TEXT' ? draft.header.text : null,
            example: format === 'LOCATION' ? null : opt(draft.header.example),
          },
    body: draft.body,
    bodyExamples: variables(draft.body).map((_, i) => draft.bodyExamples[i] ?? ''),
    footer: opt(draft.footer),
    buttons: draft.buttons.map((b) => ({
      kind: b.kind,
      text: b.text,
      url: b.kind === 'URL' ? opt(b.url) : null,
      phoneNumber: b.kind === 'PHONE_NUMBER' ? opt(b.phoneNumber) : null,
      example: (b.kind === 'URL' && b.url.includes('{{')) || b.kind === 'COPY_CODE' ? opt(b.example) : null,
    })),
  };
}

export function newButton(kind: string): DraftButton {
  return { kind, text: '', url: '', phoneNumber: '', example: '' };
}

/** Distinct `{{1}}` / `{{name}}` variables in order of first appearance (sizes the example inputs). */
export function variables(text: string): string[] {
  const seen: string[] = [];
  for (const match of text.matchAll(/\{\{\s*([a-z][a-z0-9_]*|\d+)\s*\}\}/g)) {
    const name = match[1] ?? '';
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}

/** Where on the form an issue belongs. */
export type IssueTarget =
  | 'name'
  | 'language'
  | 'category'
  | 'header'
  | 'body'
  | 'footer'
  | `button-${number}`
  | 'general';

export function targetOf(issue: LintIssue): IssueTarget {
  const f = issue.field;
  for (const simple of ['name', 'language', 'category', 'header', 'body', 'footer'] as const) {
    if (f === simple || f.startsWith(`${simple}.`)) return simple;
  }
  const button = /^buttons\[(\d+)\]/.exec(f);
  if (button !== null) return `button-${Number(button[1])}`;
  return 'general';
}

export function issuesAt(issues: LintIssue[], target: IssueTarget): LintIssue[] {
  return issues.filter((i) => targetOf(i) === target);
}

/** Meta allows editing approved, rejected and paused templates. */
export function isEditable(status: string | null): boolean {
  return status === 'APPROVED' || status === 'REJECTED' || status === 'PAUSED';
}
