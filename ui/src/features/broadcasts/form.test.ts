import { describe, expect, it } from 'vitest';
import { template } from '../../test/fixtures';
import { choicesFor, csvColumns, emptyDraft, hasPhoneColumn, missing, reached, segments, toForm, valueColumns } from './form';

const counts = { total: 10, queued: 2, sent: 3, delivered: 2, read: 1, failed: 1, skipped: 1, cancelled: 0 };

describe('csvColumns', () => {
  it('reads the header as the core does: lower-cased, trimmed, quoted names kept whole', () => {
    expect(csvColumns('Phone, First Name ,"Order, ref"\n+44 20 7946 0958,Ana,A-1\n')).toEqual([
      'phone',
      'first name',
      'order, ref',
    ]);
  });

  it('takes ; as the separator only when the header has no comma', () => {
    expect(csvColumns('\u{feff}phone;name;city\r\n1;2;3')).toEqual(['phone', 'name', 'city']);
    expect(csvColumns('phone,note;x\n')).toEqual(['phone', 'note;x']);
  });

  it('skips blank lines before the header and handles doubled quotes', () => {
    expect(csvColumns('\n  \nphone,"say ""hi"""\n')).toEqual(['phone', 'say "hi"']);
    expect(csvColumns('')).toEqual([]);
  });

  it('offers every column but the phone number for values', () => {
    const columns = csvColumns('Mobile,name,order');
    expect(hasPhoneColumn(columns)).toBe(true);
    expect(valueColumns(columns)).toEqual(['name', 'order']);
    expect(hasPhoneColumn(csvColumns('name,order'))).toBe(false);
  });
});

describe('toForm', () => {
  it('maps each variable to its source and the CSV text to the recipients', () => {
    const tpl = template(1, { name: 'order_ready', headerParamCount: 1 });
    const draft = { ...emptyDraft(), ...choicesFor(tpl), template: tpl, name: ' June ', mode: 'csv' as const };
    draft.csvText = 'phone,first name,order\n447700900001,Ana,A-1\n';
    draft.body = [{ kind: 'column', column: 'first name' }, { kind: 'fixed', value: ' A-1 ' }];
    draft.header = [{ kind: 'contactName' }];
    expect(missing(draft)).toEqual([]);
    expect(toForm(draft)).toEqual({
      name: 'June',
      phoneNumberId: null,
      templateName: 'order_ready',
      language: 'en_US',
      body: [{ kind: 'column', column: 'first name' }, { kind: 'fixed', value: 'A-1' }],
      header: [{ kind: 'contactName' }],
      buttons: [],
      headerMedia: null,
      recipients: { kind: 'csv', text: draft.csvText },
    });
  });

  it('a picture header and a coupon button are part of the form', () => {
    const tpl = template(2, {
      name: 'weekend_offer',
      paramCount: 0,
      headerFormat: 'IMAGE',
      buttons: [
        { kind: 'QUICK_REPLY', text: 'Stop', url: null, takesValue: false },
        { kind: 'COPY_CODE', text: '', url: null, takesValue: true },
      ],
    });
    const draft = { ...emptyDraft(), ...choicesFor(tpl), template: tpl, name: 'W', mode: 'csv' as const };
    draft.csvText = 'phone,code\n447700900001,ANA15\n';
    expect(draft.buttons).toHaveLength(1);
    expect(missing(draft)).toEqual(['values', 'header']);
    draft.buttons = [{ kind: 'column', column: 'code' }];
    expect(missing(draft)).toEqual(['header']);
    expect(toForm(draft)).toBeNull();
    draft.headerMedia = { ...draft.headerMedia, source: 'link', link: 'https://b.example/cake.png' };
    expect(toForm(draft)).toMatchObject({
      buttons: [{ kind: 'column', column: 'code' }],
      headerMedia: { source: 'link', url: 'https://b.example/cake.png', filename: null },
    });
  });

  it("an authentication template's code button may stay empty: each recipient's body code fills it", () => {
    const tpl = template(3, {
      name: 'login_code',
      category: 'AUTHENTICATION',
      paramCount: 1,
      buttons: [{ kind: 'URL', text: 'Copy code', url: null, takesValue: true }],
    });
    const draft = { ...emptyDraft(), ...choicesFor(tpl), template: tpl, name: 'Codes', mode: 'csv' as const };
    draft.csvText = 'phone,code\n447700900001,551204\n';
    draft.body = [{ kind: 'column', column: 'code' }];
    expect(missing(draft)).toEqual([]);
    expect(toForm(draft)?.buttons).toEqual([{ kind: 'fixed', value: '' }]);
    // A column still has to be chosen once picked.
    draft.buttons = [{ kind: 'column', column: '' }];
    expect(missing(draft)).toEqual(['values']);
    // Any other template's button value is required.
    const coupon = template(4, {
      paramCount: 0,
      buttons: [{ kind: 'COPY_CODE', text: '', url: null, takesValue: true }],
    });
    const other = { ...emptyDraft(), ...choicesFor(coupon), template: coupon, name: 'C', label: 'vip' };
    expect(missing(other)).toEqual(['values']);
  });

  it('is null until recipients, template and every value are chosen', () => {
    const tpl = template(1);
    const draft = { ...emptyDraft(), template: tpl, ...choicesFor(tpl) };
    expect(missing(draft)).toEqual(['name', 'recipients', 'values']);
    draft.label = 'vip';
    expect(toForm(draft)).toBeNull();
    draft.body = [{ kind: 'fixed', value: 'x' }, { kind: 'contactName' }];
    // The name is not needed for a preview, only for sending.
    expect(toForm(draft)?.recipients).toEqual({ kind: 'label', label: 'vip' });
    expect(missing(draft)).toEqual(['name']);
  });

  it('refuses a CSV column when the recipients do not come from a CSV', () => {
    const tpl = template(1, { paramCount: 1 });
    const draft = { ...emptyDraft(), template: tpl, name: 'n', mode: 'contacts' as const, contactIds: [4] };
    draft.body = [{ kind: 'column', column: 'name' }];
    expect(missing(draft)).toEqual(['values']);
    expect(toForm(draft)).toBeNull();
    draft.body = [{ kind: 'fixed', value: 'Hello' }];
    expect(toForm(draft)?.recipients).toEqual({ kind: 'contacts', contactIds: [4] });
  });
});

describe('progress figures', () => {
  it('counts sent and delivered cumulatively', () => {
    expect(reached(counts)).toEqual({ sent: 6, delivered: 3, read: 1 });
  });

  it('gives each state its share of all recipients, zero when empty', () => {
    expect(segments(counts)).toEqual({ read: 10, delivered: 20, sent: 30, failed: 10 });
    expect(segments({ ...counts, total: 0 })).toEqual({ read: 0, delivered: 0, sent: 0, failed: 0 });
  });
});
