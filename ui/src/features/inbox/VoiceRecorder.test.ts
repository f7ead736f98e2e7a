import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import VoiceRecorder from './VoiceRecorder.svelte';
import type { Recorder, Recording } from './recording';

/** A microphone that has recorded `durationMs` (and says so at once). */
function fakeRecorder(durationMs: number): Recorder & { cancelled: boolean } {
  const fake = {
    cancelled: false,
    elapsedMs: () => durationMs,
    level: () => 0.1,
    stop: (): Promise<Recording> =>
      Promise.resolve({ samples: 'AAAA', sampleRate: 16_000, durationMs }),
    cancel: () => {
      fake.cancelled = true;
    },
  };
  return fake;
}

function setup(start: () => Promise<Recorder>, handlers: Record<string, CommandHandler> = {}) {
  const log: CommandCall[] = [];
  mockCommands({ send_voice_note: () => ({ id: 9 }), ...handlers }, log);
  const props = {
    conversationId: 3,
    replyTo: 'wamid.q',
    onsent: vi.fn(),
    onclose: vi.fn(),
    onwindowclosed: vi.fn(),
    start,
  };
  render(VoiceRecorder, props);
  return { log, props };
}

describe('VoiceRecorder', () => {
  it('records, shows the time, and sends the samples for the conversation', async () => {
    const user = userEvent.setup();
    const { log, props } = setup(() => Promise.resolve(fakeRecorder(2_300)));
    await waitFor(() => {
      expect(screen.getByTestId('voice-elapsed')).toHaveTextContent('0:02');
    });
    await user.click(screen.getByTestId('voice-send'));
    await waitFor(() => {
      expect(props.onsent).toHaveBeenCalledWith({ id: 9 });
    });
    expect(log.find((c) => c.cmd === 'send_voice_note')?.args).toEqual({
      conversationId: 3,
      recording: { samples: 'AAAA', sampleRate: 16_000 },
      replyTo: 'wamid.q',
    });
    expect(props.onclose).toHaveBeenCalled();
  });

  it('Escape discards the recording without sending', async () => {
    const user = userEvent.setup();
    const recorder = fakeRecorder(1_000);
    const { log, props } = setup(() => Promise.resolve(recorder));
    await waitFor(() => {
      expect(screen.getByTestId('voice-send')).toBeEnabled();
    });
    await user.keyboard('{Escape}');
    expect(recorder.cancelled).toBe(true);
    expect(props.onclose).toHaveBeenCalled();
    expect(log.some((c) => c.cmd === 'send_voice_note')).toBe(false);
  });

  it('says why when the microphone is refused, and sends nothing', async () => {
    setup(() => Promise.reject(new Error('Permission denied')));
    expect(await screen.findByTestId('voice-error')).toHaveTextContent('Permission denied');
    expect(screen.getByTestId('voice-send')).toBeDisabled();
  });

  it('a slip of the finger (under half a second) is not sent', async () => {
    const user = userEvent.setup();
    const { log } = setup(() => Promise.resolve(fakeRecorder(200)));
    await waitFor(() => {
      expect(screen.getByTestId('voice-send')).toBeEnabled();
    });
    await user.click(screen.getByTestId('voice-send'));
    expect(await screen.findByTestId('voice-error')).toHaveTextContent('shorter than half a second');
    expect(log.some((c) => c.cmd === 'send_voice_note')).toBe(false);
  });

  it('outside the 24-hour window hands over to the template panel', async () => {
    const user = userEvent.setup();
    const { props } = setup(() => Promise.resolve(fakeRecorder(3_000)), {
      send_voice_note: () => Promise.reject({ kind: 'windowClosed', message: 'closed' }),
    });
    await waitFor(() => {
      expect(screen.getByTestId('voice-send')).toBeEnabled();
    });
    await user.click(screen.getByTestId('voice-send'));
    await waitFor(() => {
      expect(props.onwindowclosed).toHaveBeenCalled();
    });
    expect(props.onsent).not.toHaveBeenCalled();
  });
});
