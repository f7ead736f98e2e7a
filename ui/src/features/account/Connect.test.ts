import { render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emitEvent, mockCommands } from '$lib/ipc/testing';
import { phoneNumber } from '../../test/fixtures';
import Connect from './Connect.svelte';
import { ONBOARDING_POLL_MS } from './onboarding';

type Outcome = Record<string, unknown>;

function setup(outcomes: Outcome[]) {
  const statusCalls: unknown[] = [];
  const calls = mockCommands({
    start_onboarding: () => ({ sessionId: 'sess-1', url: 'https://relay.example/onboard/sess-1' }),
    onboarding_status: (args) => {
      statusCalls.push(args?.sessionId);
      return outcomes.length > 1 ? outcomes.shift() : outcomes[0];
    },
  });
  const onconnected = vi.fn();
  const ondone = vi.fn();
  render(Connect, { onconnected, ondone });
  return { calls, statusCalls, onconnected, ondone };
}

async function clickConnect(): Promise<void> {
  screen.getByTestId('connect-whatsapp').click();
  await vi.advanceTimersByTimeAsync(0);
}

describe('Connect WhatsApp', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits in the browser, polls every 1.5 s, then shows the connected number', async () => {
    const number = phoneNumber({ verifiedName: 'Lumen Flowers', displayPhoneNumber: '+1 555-010-2000' });
    const { calls, statusCalls, onconnected, ondone } = setup([
      { state: 'waiting' },
      { state: 'waiting' },
      { state: 'connected', number },
    ]);
    await clickConnect();
    expect(calls).toEqual(['start_onboarding']);
    const status = screen.getByTestId('onboarding-status');
    expect(status).toHaveAttribute('data-state', 'waiting');
    expect(status).toHaveTextContent('Finish in your browser…');

    await vi.advanceTimersByTimeAsync(ONBOARDING_POLL_MS - 1);
    expect(statusCalls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(statusCalls).toEqual(['sess-1']);
    await vi.advanceTimersByTimeAsync(ONBOARDING_POLL_MS * 2);

    expect(screen.getByTestId('onboarding-status')).toHaveAttribute('data-state', 'connected');
    const card = screen.getByTestId('connected-number');
    expect(card).toHaveTextContent('Lumen Flowers');
    expect(card).toHaveTextContent('+1 555-010-2000');
    expect(card).toHaveTextContent('Quality: high');
    expect(card).toHaveTextContent('2K conversations / day');
    expect(onconnected).toHaveBeenCalledWith(number);

    // Polling stopped.
    const polls = statusCalls.length;
    await vi.advanceTimersByTimeAsync(ONBOARDING_POLL_MS * 3);
    expect(statusCalls).toHaveLength(polls);

    screen.getByTestId('connect-done').click();
    expect(ondone).toHaveBeenCalled();
  });

  it('polls at once when the onboarding deep link arrives', async () => {
    const { statusCalls } = setup([{ state: 'connected', number: phoneNumber() }]);
    await clickConnect();
    await emitEvent('onboardingLink', { sessionId: 'other-session' });
    await vi.advanceTimersByTimeAsync(0);
    expect(statusCalls).toHaveLength(0);
    await emitEvent('onboardingLink', { sessionId: 'sess-1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(statusCalls).toEqual(['sess-1']);
    expect(screen.getByTestId('onboarding-status')).toHaveAttribute('data-state', 'connected');
  });

  it('says at which step the user cancelled, in plain words, and can retry', async () => {
    const { calls } = setup([
      { state: 'cancelled', step: 'PHONE_NUMBER_VERIFICATION', explanation: 'You closed the window.' },
    ]);
    await clickConnect();
    await vi.advanceTimersByTimeAsync(ONBOARDING_POLL_MS);
    const status = screen.getByTestId('onboarding-status');
    expect(status).toHaveAttribute('data-state', 'cancelled');
    expect(status).toHaveTextContent('You left at: verifying the phone number.');
    expect(status).toHaveTextContent('You closed the window.');
    screen.getByRole('button', { name: 'Try again' }).click();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.filter((c) => c === 'start_onboarding')).toHaveLength(2);
  });

  it('shows the failure code and explanation', async () => {
    setup([
      {
        state: 'failed',
        code: 'code_exchange_failed',
        metaCode: '524126',
        explanation: 'Meta refused the sign-up code; it may have expired.',
      },
    ]);
    await clickConnect();
    await vi.advanceTimersByTimeAsync(ONBOARDING_POLL_MS);
    const status = screen.getByTestId('onboarding-status');
    expect(status).toHaveAttribute('data-state', 'failed');
    expect(status).toHaveTextContent('Error code: code_exchange_failed (Meta 524126)');
    expect(status).toHaveTextContent('it may have expired');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('reports a start failure with a retry', async () => {
    mockCommands({
      start_onboarding: () => Promise.reject({ kind: 'relayUnreachable', message: 'relay down' }),
    });
    render(Connect, { onconnected: vi.fn() });
    await clickConnect();
    expect(screen.getByTestId('onboarding-status')).toHaveAttribute('data-state', 'error');
    expect(screen.getByTestId('onboarding-status')).toHaveTextContent('relay down');
  });

  it('sets up a number manually with the token in a password field', async () => {
    vi.useRealTimers();
    const number = phoneNumber();
    const log: { cmd: string; args: Record<string, unknown> | undefined }[] = [];
    mockCommands({ setup_manual: () => number }, log);
    const onconnected = vi.fn();
    const { default: userEvent } = await import('@testing-library/user-event');
    const user = userEvent.setup();
    render(Connect, { onconnected });
    await user.click(screen.getByRole('button', { name: 'Set up manually' }));
    expect(screen.getByTestId('manual-token')).toHaveAttribute('type', 'password');
    await user.type(screen.getByTestId('manual-waba-id'), 'abc');
    await user.click(screen.getByTestId('manual-submit'));
    expect(screen.getByText('Digits only')).toBeInTheDocument();
    await user.clear(screen.getByTestId('manual-waba-id'));
    await user.type(screen.getByTestId('manual-waba-id'), '102290129340398');
    await user.type(screen.getByTestId('manual-phone-number-id'), '106540352242922');
    await user.type(screen.getByTestId('manual-token'), 'EAAG-secret');
    await user.click(screen.getByTestId('manual-submit'));
    await vi.waitFor(() => {
      expect(onconnected).toHaveBeenCalledWith(number);
    });
    expect(log[0]?.args).toEqual({
      input: { wabaId: '102290129340398', phoneNumberId: '106540352242922', token: 'EAAG-secret' },
    });
    expect(screen.getByTestId('connected-number')).toBeInTheDocument();
  });
});
