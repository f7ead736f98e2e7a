import { describe, expect, it } from 'vitest';
import { template } from '../../test/fixtures';
import { buttonsComplete, emptyHeader, fileFits, headerComplete, headerInput } from './fill';

describe('template fill', () => {
  it('a text header, or none, needs nothing', () => {
    expect(headerComplete(template(1), emptyHeader())).toBe(true);
    expect(headerInput(template(1, { headerFormat: 'TEXT' }), { ...emptyHeader(), link: 'https://x.example' })).toBeNull();
  });

  it('a place needs both coordinates, in range; a comma is a decimal point', () => {
    const place = template(2, { headerFormat: 'LOCATION' });
    const choice = { ...emptyHeader(), latitude: '38,72', longitude: '-9.14', placeName: '  ', address: 'Rua 1' };
    expect(headerInput(place, choice)).toEqual({
      source: 'location',
      latitude: 38.72,
      longitude: -9.14,
      name: null,
      address: 'Rua 1',
    });
    expect(headerComplete(place, { ...choice, latitude: '91' })).toBe(false);
    expect(headerComplete(place, { ...choice, longitude: '' })).toBe(false);
    expect(headerComplete(place, { ...choice, longitude: 'east' })).toBe(false);
  });

  it('a file counts once picked and fitting; a link only over https', () => {
    const image = template(3, { headerFormat: 'IMAGE' });
    expect(headerComplete(image, emptyHeader())).toBe(false);
    expect(headerComplete(image, { ...emptyHeader(), path: '/a.png' })).toBe(true);
    expect(headerComplete(image, { ...emptyHeader(), path: '/a.pdf', fileError: 'not a picture' })).toBe(false);
    const link = { ...emptyHeader(), source: 'link' as const };
    expect(headerComplete(image, { ...link, link: 'http://b.example/a.png' })).toBe(false);
    expect(headerComplete(image, { ...link, link: 'https://b.example/a b.png' })).toBe(false);
    expect(headerInput(image, { ...link, link: ' https://b.example/a.png ' })).toEqual({
      source: 'link',
      url: 'https://b.example/a.png',
      filename: null,
    });
  });

  it('every button that takes a value needs one, but an authentication code may stay empty', () => {
    const coupon = template(4, {
      buttons: [
        { kind: 'QUICK_REPLY', text: 'Stop', url: null, takesValue: false },
        { kind: 'COPY_CODE', text: '', url: null, takesValue: true },
      ],
    });
    expect(buttonsComplete(coupon, [''])).toBe(false);
    expect(buttonsComplete(coupon, [' SAVE10 '])).toBe(true);
    const otp = template(5, { buttons: [{ kind: 'OTP', text: 'Copy code', url: null, takesValue: true }] });
    expect(buttonsComplete(otp, [])).toBe(true);
    // As Meta lists a created authentication template: a URL button, but a code all the same.
    const listed = template(6, {
      category: 'AUTHENTICATION',
      buttons: [{ kind: 'URL', text: 'Copy code', url: 'https://www.whatsapp.com/otp/code/?code=otp{{1}}', takesValue: true }],
    });
    expect(buttonsComplete(listed, [''])).toBe(true);
  });

  it('a header takes the files Meta takes for it: JPEG or PNG, MP4, PDF', () => {
    expect(fileFits('IMAGE', 'image/png')).toBe(true);
    expect(fileFits('IMAGE', 'image/webp')).toBe(false);
    expect(fileFits('VIDEO', 'video/mp4')).toBe(true);
    expect(fileFits('VIDEO', 'video/3gpp')).toBe(false);
    expect(fileFits('DOCUMENT', 'application/pdf')).toBe(true);
    expect(fileFits('DOCUMENT', 'image/png')).toBe(false);
    expect(fileFits('DOCUMENT', null)).toBe(false);
  });

  it('coordinates are decimal degrees', () => {
    const place = template(6, { headerFormat: 'LOCATION' });
    const at = (latitude: string) => headerComplete(place, { ...emptyHeader(), latitude, longitude: '1' });
    expect(at('0x10')).toBe(false);
    expect(at('1e1')).toBe(false);
    expect(at('-33.8688')).toBe(true);
  });
});
