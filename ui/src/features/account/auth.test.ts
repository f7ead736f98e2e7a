import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockCommands, type CommandCall } from '$lib/ipc/testing';
import { account } from '../../test/fixtures';
import AuthScreen from './AuthScreen.svelte';
import PassphrasePrompt from './PassphrasePrompt.svelte';
import RegisterForm from './RegisterForm.svelte';
import SignInForm from './SignInForm.svelte';
import { passwordStrength } from './validation';

const RELAY = 'https://relay.lumen.example';

async function fillRegister(user: ReturnType<typeof userEvent.setup>, confirm = 'Tulips-in-May-2025') {
  await user.type(screen.getByTestId('register-name'), 'Ana Owner');
  await user.type(screen.getByTestId('register-email'), ' ana@lumen.example ');
  await user.type(screen.getByTestId('register-company'), 'Lumen Flowers');
  await user.type(screen.getByTestId('register-password'), 'Tulips-in-May-2025');
  await user.type(screen.getByTestId('register-password-confirm'), confirm);
}

describe('RegisterForm', () => {
  it('shows inline errors and calls nothing when the form is incomplete', async () => {
    const calls = mockCommands({});
    const user = userEvent.setup();
    render(RegisterForm, { relayUrl: RELAY, onsignedin: vi.fn() });
    expect(screen.getByTestId('register-relay')).toHaveValue(RELAY);
    await user.type(screen.getByTestId('register-email'), 'not-an-email');
    await user.type(screen.getByTestId('register-password'), 'short');
    await user.click(screen.getByTestId('register-submit'));
    expect(screen.getByTestId('register-name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('Enter an email address like name@example.com')).toBeInTheDocument();
    expect(screen.getByText('Use at least 10 characters')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('refuses a confirmation that differs', async () => {
    const calls = mockCommands({});
    const user = userEvent.setup();
    render(RegisterForm, { relayUrl: RELAY, onsignedin: vi.fn() });
    await fillRegister(user, 'Tulips-in-May-2024');
    await user.click(screen.getByTestId('register-submit'));
    expect(screen.getByText('The two passwords are not the same')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('registers with trimmed values, disabling submit while pending', async () => {
    const log: CommandCall[] = [];
    let finish: (value: unknown) => void = () => undefined;
    mockCommands(
      {
        register: () =>
          new Promise((resolve) => {
            finish = resolve;
          }),
      },
      log,
    );
    const onsignedin = vi.fn();
    const user = userEvent.setup();
    render(RegisterForm, { relayUrl: RELAY, onsignedin });
    await fillRegister(user);
    await user.click(screen.getByTestId('register-submit'));
    expect(screen.getByTestId('register-submit')).toBeDisabled();
    expect(log[0]?.args).toEqual({
      input: {
        relayUrl: RELAY,
        name: 'Ana Owner',
        email: 'ana@lumen.example',
        company: 'Lumen Flowers',
        password: 'Tulips-in-May-2025',
      },
    });
    finish(account());
    await vi.waitFor(() => {
      expect(onsignedin).toHaveBeenCalledWith(account());
    });
    expect(screen.getByTestId('register-submit')).toBeEnabled();
  });

  it('names the relay URL when it cannot be reached', async () => {
    mockCommands({ register: () => Promise.reject({ kind: 'relayUnreachable', message: 'connect' }) });
    const user = userEvent.setup();
    render(RegisterForm, { relayUrl: RELAY, onsignedin: vi.fn() });
    await fillRegister(user);
    await user.click(screen.getByTestId('register-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent(`Can’t reach the relay at ${RELAY}`);
  });

  it('says an existing email conflicts', async () => {
    mockCommands({ register: () => Promise.reject({ kind: 'conflict', message: 'exists' }) });
    const user = userEvent.setup();
    render(RegisterForm, { relayUrl: RELAY, onsignedin: vi.fn() });
    await fillRegister(user);
    await user.click(screen.getByTestId('register-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('already exists');
  });
});

describe('SignInForm', () => {
  it('says the email or password is wrong on unauthenticated', async () => {
    mockCommands({ sign_in: () => Promise.reject({ kind: 'unauthenticated', message: '401' }) });
    const user = userEvent.setup();
    render(SignInForm, { relayUrl: RELAY, onsignedin: vi.fn() });
    await user.type(screen.getByTestId('signin-email'), 'ana@lumen.example');
    await user.type(screen.getByTestId('signin-password'), 'whatever');
    await user.click(screen.getByTestId('signin-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('The email or password is wrong.');
  });

  it('requires a web address for the relay', async () => {
    const calls = mockCommands({});
    const user = userEvent.setup();
    render(SignInForm, { relayUrl: '', onsignedin: vi.fn() });
    await user.type(screen.getByTestId('signin-email'), 'ana@lumen.example');
    await user.type(screen.getByTestId('signin-password'), 'whatever');
    await user.type(screen.getByTestId('signin-relay'), 'javascript:alert(1)');
    await user.click(screen.getByTestId('signin-submit'));
    expect(screen.getByText('Enter a web address starting with https://')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });
});

describe('AuthScreen', () => {
  it('opens on sign-in with the last relay, and offers register and join', async () => {
    const user = userEvent.setup();
    render(AuthScreen, { lastRelayUrl: RELAY, defaultRelayUrl: 'https://default.example', onsignedin: vi.fn() });
    expect(screen.getByTestId('signin-relay')).toHaveValue(RELAY);
    await user.click(screen.getByTestId('auth-tab-register'));
    expect(screen.getByTestId('register-relay')).toHaveValue(RELAY);
    await user.click(screen.getByTestId('auth-tab-join'));
    expect(screen.getByTestId('join-invite')).toBeInTheDocument();
  });

  it('prefills the default relay on a first start and begins with register', () => {
    render(AuthScreen, { lastRelayUrl: null, defaultRelayUrl: 'https://default.example', onsignedin: vi.fn() });
    expect(screen.getByTestId('register-relay')).toHaveValue('https://default.example');
  });

  it('joins by invite link, explaining an expired link', async () => {
    const log: CommandCall[] = [];
    mockCommands({ join_workspace: () => Promise.reject({ kind: 'notFound', message: 'no invite' }) }, log);
    const user = userEvent.setup();
    render(AuthScreen, { lastRelayUrl: null, defaultRelayUrl: null, onsignedin: vi.fn() });
    await user.click(screen.getByTestId('auth-tab-join'));
    await user.type(screen.getByTestId('join-invite'), 'https://relay.lumen.example/invite/abc');
    await user.type(screen.getByTestId('join-name'), 'Ben Agent');
    await user.type(screen.getByTestId('join-password'), 'Orchids-all-year');
    await user.type(screen.getByTestId('join-password-confirm'), 'Orchids-all-year');
    await user.click(screen.getByTestId('join-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('not valid any more');
    // By name: an earlier test's AuthScreen may report its first paint (two frames after it
    // was drawn) while this one runs, into this test's log.
    expect(log.find((c) => c.cmd === 'join_workspace')?.args).toEqual({
      input: {
        inviteLink: 'https://relay.lumen.example/invite/abc',
        name: 'Ben Agent',
        password: 'Orchids-all-year',
      },
    });
  });
});

describe('PassphrasePrompt', () => {
  it('on first run needs the passphrase twice', async () => {
    const onunlock = vi.fn(() => Promise.resolve());
    const user = userEvent.setup();
    render(PassphrasePrompt, { firstRun: true, onunlock });
    await user.type(screen.getByTestId('passphrase'), 'a long passphrase');
    await user.type(screen.getByTestId('passphrase-confirm'), 'a long passphrasf');
    await user.click(screen.getByTestId('passphrase-submit'));
    expect(onunlock).not.toHaveBeenCalled();
    await user.clear(screen.getByTestId('passphrase-confirm'));
    await user.type(screen.getByTestId('passphrase-confirm'), 'a long passphrase');
    await user.click(screen.getByTestId('passphrase-submit'));
    expect(onunlock).toHaveBeenCalledWith('a long passphrase');
  });

  it('says when the passphrase is wrong', async () => {
    const user = userEvent.setup();
    render(PassphrasePrompt, {
      firstRun: false,
      onunlock: () => Promise.reject({ kind: 'wrongPassphrase', message: 'bad' }),
    });
    await user.type(screen.getByTestId('passphrase'), 'guess');
    await user.click(screen.getByTestId('passphrase-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('That passphrase is not right.');
  });
});

describe('passwordStrength', () => {
  it.each([
    ['', 0],
    ['abc', 1],
    ['abcdefghij', 1],
    ['abcdefghijklmn', 2],
    ['Abcdefghij12', 2],
    ['Abcdefghij1!', 3],
    ['Abcdefghijklmn1!', 4],
    ['correct horse battery staple', 3],
  ])('scores %j as %i', (password, score) => {
    expect(passwordStrength(password)).toBe(score);
  });
});
