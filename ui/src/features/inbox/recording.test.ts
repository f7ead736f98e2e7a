import { describe, expect, it } from 'vitest';
import { concat, downsample, formatElapsed, pcm16Base64, rms } from './recording';

function bytesOf(base64: string): number[] {
  return Array.from(atob(base64), (c) => c.charCodeAt(0));
}

describe('voice recording helpers', () => {
  it('encodes samples as clipped 16-bit little-endian PCM', () => {
    const encoded = pcm16Base64(new Float32Array([0, 1, -1, 0.5, 2, -3]));
    const bytes = bytesOf(encoded);
    const view = new DataView(new Uint8Array(bytes).buffer);
    const samples = Array.from({ length: bytes.length / 2 }, (_, i) => view.getInt16(i * 2, true));
    expect(samples).toEqual([0, 32767, -32768, 16384, 32767, -32768]);
  });

  it('encodes long recordings (more than one slice of bytes)', () => {
    const samples = new Float32Array(100_000).fill(0.25);
    expect(bytesOf(pcm16Base64(samples))).toHaveLength(200_000);
  });

  it('downsamples 48 kHz to 16 kHz by averaging each interval, and 44.1 kHz to the right length', () => {
    const input = new Float32Array([0.3, 0.3, 0.3, 0.9, 0.6, 0.3, -0.3, -0.6, -0.9]);
    const out = downsample(input, 48_000, 16_000);
    expect(Array.from(out).map((v) => Math.round(v * 100) / 100)).toEqual([0.3, 0.6, -0.6]);
    expect(downsample(new Float32Array(44_100), 44_100, 16_000)).toHaveLength(16_000);
    const same = new Float32Array([0.1, 0.2]);
    expect(downsample(same, 16_000, 16_000)).toBe(same);
    expect(() => downsample(same, 8_000, 16_000)).toThrow(/upsample/);
  });

  it('a tone above the new Nyquist frequency is damped, not folded back at full strength', () => {
    // 7.9 kHz just under 8 kHz (16 kHz Nyquist) passes; a 20 kHz tone at 48 kHz would alias.
    const tone = (hz: number) =>
      Float32Array.from({ length: 48_000 }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 48_000));
    expect(rms(downsample(tone(20_000), 48_000, 16_000))).toBeLessThan(0.2);
    expect(rms(downsample(tone(1_000), 48_000, 16_000))).toBeGreaterThan(0.6);
  });

  it('joins blocks up to the recorded length and measures the level', () => {
    const joined = concat([new Float32Array([1, 2]), new Float32Array([3, 4])], 3);
    expect(Array.from(joined)).toEqual([1, 2, 3]);
    expect(rms(new Float32Array([]))).toBe(0);
    expect(rms(new Float32Array([0.5, -0.5]))).toBeCloseTo(0.5);
  });

  it('shows the elapsed time as m:ss', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(9_999)).toBe('0:09');
    expect(formatElapsed(61_000)).toBe('1:01');
    expect(formatElapsed(15 * 60 * 1000)).toBe('15:00');
  });
});
