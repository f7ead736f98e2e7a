// Records a voice note from the microphone as 16 kHz mono 16-bit samples. The Rust side
// encodes them as OGG/Opus (crates/core/src/send/voice_note.rs): a webview's MediaRecorder
// writes WebM or MP4 depending on the platform, while WhatsApp plays only OGG/Opus as a voice
// note, so the webview hands over plain samples instead.

/** The rate sent to the encoder: wideband speech, one of the rates Opus encodes natively. */
export const VOICE_RATE = 16_000;

/** Voice notes stop here (the encoder refuses longer ones). */
export const MAX_RECORDING_MS = 15 * 60 * 1000;

/** Shorter recordings are a slip of the finger, not a message. */
export const MIN_RECORDING_MS = 500;

/** The worklet that hands the microphone's samples over (ui/public/capture-worklet.js). */
const CAPTURE_WORKLET = '/capture-worklet.js';

/** A finished recording, ready for `sendVoiceNote`. */
export interface Recording {
  /** Mono 16-bit little-endian samples at `sampleRate`, base64. */
  samples: string;
  sampleRate: number;
  durationMs: number;
}

/** A recording in progress. */
export interface Recorder {
  /** Milliseconds recorded so far. */
  elapsedMs(): number;
  /** The input level of the last block, 0 to 1, for the meter. */
  level(): number;
  /** Stops and returns what was recorded. */
  stop(): Promise<Recording>;
  /** Stops and throws the recording away. */
  cancel(): void;
}

/** Starts recording from the default microphone (asks for it; throws when refused). */
export async function startRecording(): Promise<Recorder> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  let context: AudioContext;
  try {
    // Asking for 16 kHz lets the engine resample with a proper filter; engines that refuse get
    // their own rate, downsampled below.
    context = createContext();
  } catch (caught) {
    stopTracks(stream);
    throw caught;
  }
  const source = context.createMediaStreamSource(stream);
  let capture: AudioWorkletNode;
  try {
    await context.audioWorklet.addModule(CAPTURE_WORKLET);
    capture = new AudioWorkletNode(context, 'dataoptix-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: 'explicit',
    });
  } catch (caught) {
    stopTracks(stream);
    void context.close();
    throw caught;
  }
  const blocks: Float32Array[] = [];
  let recorded = 0;
  let lastLevel = 0;
  capture.port.onmessage = (event: MessageEvent<Float32Array>) => {
    const block = event.data;
    blocks.push(block);
    recorded += block.length;
    lastLevel = rms(block);
  };
  source.connect(capture);
  // The rendering thread pulls only what leads to the output; the node writes silence there.
  capture.connect(context.destination);

  const rate = context.sampleRate;
  const teardown = (): void => {
    capture.port.onmessage = null;
    source.disconnect();
    capture.disconnect();
    stopTracks(stream);
    void context.close();
  };
  return {
    elapsedMs: () => (recorded / rate) * 1000,
    level: () => lastLevel,
    stop: () => {
      teardown();
      const samples = downsample(concat(blocks, recorded), rate, VOICE_RATE);
      return Promise.resolve({
        samples: pcm16Base64(samples),
        sampleRate: VOICE_RATE,
        durationMs: Math.round((samples.length / VOICE_RATE) * 1000),
      });
    },
    cancel: teardown,
  };
}

function createContext(): AudioContext {
  try {
    return new AudioContext({ sampleRate: VOICE_RATE });
  } catch {
    return new AudioContext();
  }
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

/** Root mean square of a block, 0 (silence) to 1 (full scale). */
export function rms(block: Float32Array): number {
  if (block.length === 0) return 0;
  let sum = 0;
  for (const s of block) sum += s * s;
  return Math.min(1, Math.sqrt(sum / block.length));
}

/** The blocks as one buffer of `length` samples. */
export function concat(blocks: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let at = 0;
  for (const block of blocks) {
    out.set(block.subarray(0, length - at), at);
    at += block.length;
    if (at >= length) break;
  }
  return out;
}

/**
 * Resamples `input` from `from` Hz to `to` Hz (`to` ≤ `from`). Each output sample averages the
 * input samples of its interval: a box filter, which keeps most of what lies above the new
 * Nyquist frequency from folding back into speech. An engine that honoured the 16 kHz context
 * makes this a copy.
 */
export function downsample(input: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return input;
  if (to > from) throw new Error(`cannot upsample from ${String(from)} Hz to ${String(to)} Hz`);
  const ratio = from / to;
  const out = new Float32Array(Math.floor(input.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const start = Math.floor(i * ratio);
    const end = Math.min(input.length, Math.floor((i + 1) * ratio));
    let sum = 0;
    for (let j = start; j < end; j++) sum += input[j] ?? 0;
    out[i] = end > start ? sum / (end - start) : 0;
  }
  return out;
}

/** Float samples (-1..1, clipped) as 16-bit little-endian PCM in base64. */
export function pcm16Base64(samples: Float32Array): string {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((s, i) => {
    const clipped = Math.max(-1, Math.min(1, s));
    view.setInt16(i * 2, Math.round(clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff), true);
  });
  // btoa takes a binary string; build it in slices to stay under argument-count limits.
  let binary = '';
  const slice = 0x8000;
  for (let i = 0; i < bytes.length; i += slice) {
    binary += String.fromCharCode(...bytes.subarray(i, i + slice));
  }
  return btoa(binary);
}

/** `m:ss` for the recording timer. */
export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60))}:${String(seconds % 60).padStart(2, '0')}`;
}
