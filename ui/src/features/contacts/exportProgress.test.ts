import { describe, expect, it } from 'vitest';
import { exportProgressText } from './exportProgress';

describe('exportProgressText', () => {
  it('says what the export is doing', () => {
    expect(exportProgressText(null)).toBe('Writing the export…');
    expect(exportProgressText({ stage: 'data', done: 0, total: 0 })).toBe('Writing the export…');
    expect(exportProgressText({ stage: 'data', done: 2, total: 5 })).toBe('Writing the export… 2 of 5');
    expect(exportProgressText({ stage: 'media', done: 3, total: 40 })).toBe('Adding media files… 3 of 40');
  });
});
