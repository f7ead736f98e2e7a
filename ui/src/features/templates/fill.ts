// What a template asks for when it is sent, beyond its text variables: the file or place of
// a media or location header, and a value for each button that takes one. Shared by the
// thread's template panel and the broadcast form.
import type { HeaderMediaInput, TemplateView } from '$lib/ipc';

/** The header formats that take a file. */
export type MediaFormat = 'IMAGE' | 'VIDEO' | 'DOCUMENT';

export function mediaFormat(template: TemplateView): MediaFormat | null {
  const f = template.headerFormat;
  return f === 'IMAGE' || f === 'VIDEO' || f === 'DOCUMENT' ? f : null;
}

export function needsPlace(template: TemplateView): boolean {
  return template.headerFormat === 'LOCATION';
}

/** The buttons that take a value when sending, in order (their values go in that order). */
export function valueButtons(template: TemplateView): TemplateView['buttons'] {
  return template.buttons.filter((b) => b.takesValue);
}

/**
 * An authentication template's code button may stay empty: Rust gives it the body's code.
 * (Meta lists it as a URL button once created, hence the category.)
 */
export function optionalButton(template: TemplateView, button: TemplateView['buttons'][number]): boolean {
  return button.kind === 'OTP' || template.category === 'AUTHENTICATION';
}

/** What the header form holds: a picked file, a typed address, or a place. */
export interface HeaderChoice {
  source: 'file' | 'link';
  /** The picked file's path (from Rust's file dialog). */
  path: string | null;
  /** The picked file, when it does not fit the header (shown instead of sending). */
  fileError: string | null;
  link: string;
  latitude: string;
  longitude: string;
  placeName: string;
  address: string;
}

export function emptyHeader(): HeaderChoice {
  return {
    source: 'file',
    path: null,
    fileError: null,
    link: '',
    latitude: '',
    longitude: '',
    placeName: '',
    address: '',
  };
}

function coordinate(text: string, limit: number): number | null {
  // Decimal degrees only (no 0x10, no 1e1); a comma is a decimal point.
  const plain = text.trim().replace(',', '.');
  if (!/^-?\d{1,3}(\.\d+)?$/.test(plain)) return null;
  const n = Number(plain);
  return Math.abs(n) <= limit ? n : null;
}

function optional(text: string): string | null {
  return text.trim() === '' ? null : text.trim();
}

/** The header input to send, or null while the form does not say one (or says a bad one). */
export function headerInput(template: TemplateView, choice: HeaderChoice): HeaderMediaInput | null {
  if (needsPlace(template)) {
    const latitude = coordinate(choice.latitude, 90);
    const longitude = coordinate(choice.longitude, 180);
    if (latitude === null || longitude === null) return null;
    return {
      source: 'location',
      latitude,
      longitude,
      name: optional(choice.placeName),
      address: optional(choice.address),
    };
  }
  if (mediaFormat(template) === null) return null;
  if (choice.source === 'file') {
    return choice.path !== null && choice.fileError === null
      ? { source: 'file', path: choice.path, filename: null }
      : null;
  }
  return /^https:\/\/\S+$/i.test(choice.link.trim())
    ? { source: 'link', url: choice.link.trim(), filename: null }
    : null;
}

/** Whether the header is given as the template needs (a text header or none needs nothing). */
export function headerComplete(template: TemplateView, choice: HeaderChoice): boolean {
  const needed = mediaFormat(template) !== null || needsPlace(template);
  return !needed || headerInput(template, choice) !== null;
}

/** Whether every button that takes a value has one (an authentication code may stay empty). */
export function buttonsComplete(template: TemplateView, values: string[]): boolean {
  return valueButtons(template).every((b, i) => optionalButton(template, b) || (values[i] ?? '').trim() !== '');
}

/**
 * Whether a picked file of type `mimeType` fits a header of `format`: what Meta takes for a
 * template header, as for its sample (JPEG or PNG, MP4, PDF; `header_sample_types` in Rust).
 */
export function fileFits(format: MediaFormat, mimeType: string | null): boolean {
  const takes: Record<MediaFormat, readonly string[]> = {
    IMAGE: ['image/jpeg', 'image/png'],
    VIDEO: ['video/mp4'],
    DOCUMENT: ['application/pdf'],
  };
  return mimeType !== null && takes[format].includes(mimeType);
}
