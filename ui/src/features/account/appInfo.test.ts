import { describe, expect, it } from 'vitest';
import { clip, graphVersionLabel, versionLine } from './appInfo';

describe('versionLine', () => {
  it('joins the app and Graph API versions', () => {
    expect(versionLine({ name: 'DataOptix', version: '0.1.0', graphVersion: 'v23.0' })).toBe(
      'Version 0.1.0 · Graph API v23.0',
    );
  });

  it('leaves the Graph API part out when the shell reports none', () => {
    expect(versionLine({ name: 'DataOptix', version: '0.1.0', graphVersion: ' ' })).toBe(
      'Version 0.1.0',
    );
  });
});

describe('graphVersionLabel', () => {
  it.each([
    ['v23.0', 'v23.0'],
    ['23.0', 'v23.0'],
    ['V23.0', 'v23.0'],
    [' v24.0 ', 'v24.0'],
  ])('%s -> %s', (input, expected) => {
    expect(graphVersionLabel(input)).toBe(expected);
  });
});

describe('clip', () => {
  it('keeps short text', () => {
    expect(clip('abc', 3)).toBe('abc');
  });

  it('cuts on code points, never inside an emoji', () => {
    expect(clip('😀😀😀', 2)).toBe('😀😀…');
  });
});
