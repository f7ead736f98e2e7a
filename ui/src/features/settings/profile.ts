// The business-profile form as data: what changed (only changed fields are sent, so an
// untouched field is never overwritten), and the core's problems put back on their fields.
import type { BusinessProfileView, ProfileUpdate } from '$lib/ipc';

export type ProfileField = 'about' | 'description' | 'address' | 'email' | 'websites' | 'vertical';

export type ProfileDraft = {
  about: string;
  description: string;
  address: string;
  email: string;
  /** Always two inputs; empty ones are dropped. */
  websites: [string, string];
  /** `''`: not set. */
  vertical: string;
};

export function draftOf(profile: BusinessProfileView): ProfileDraft {
  return {
    about: profile.about ?? '',
    description: profile.description ?? '',
    address: profile.address ?? '',
    email: profile.email ?? '',
    websites: [profile.websites[0] ?? '', profile.websites[1] ?? ''],
    vertical: profile.vertical ?? '',
  };
}

function sites(list: readonly string[]): string[] {
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

/** The fields that differ from the saved profile (`null` for the others: left as they are). */
export function changes(saved: ProfileDraft, draft: ProfileDraft): ProfileUpdate {
  const text = (field: 'about' | 'description' | 'address' | 'email'): string | null =>
    draft[field] === saved[field] ? null : draft[field].trim();
  const websites = sites(draft.websites);
  return {
    about: text('about'),
    description: text('description'),
    address: text('address'),
    email: text('email'),
    websites: websites.join('\n') === sites(saved.websites).join('\n') ? null : websites,
    vertical: draft.vertical === saved.vertical ? null : draft.vertical,
  };
}

export function isUnchanged(update: ProfileUpdate): boolean {
  return Object.values(update).every((v) => v === null);
}

/**
 * The core's problems (`field: what is wrong`) by field, without the prefix. A problem naming
 * no known field is kept under `other`, so nothing the core says is lost.
 */
export function problemsByField(problems: readonly string[]): Partial<Record<ProfileField | 'other', string>> {
  const fields: readonly string[] = ['about', 'description', 'address', 'email', 'websites', 'vertical'];
  const out: Partial<Record<ProfileField | 'other', string>> = {};
  for (const problem of problems) {
    const at = problem.indexOf(': ');
    const field = at > 0 ? problem.slice(0, at) : '';
    const key = (fields.includes(field) ? field : 'other') as ProfileField | 'other';
    const text = key === 'other' ? problem : problem.slice(at + 2);
    out[key] = out[key] === undefined ? text : `${out[key]} ${text}`;
  }
  return out;
}

/** `PROF_SERVICES` → `Prof services`: Meta's category codes, readable. */
export function verticalLabel(code: string): string {
  const words = code.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Characters as Meta (and the core's `chars().count()`) count them: Unicode code points. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}
