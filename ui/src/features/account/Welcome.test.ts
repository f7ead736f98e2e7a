import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockCommands, sampleAppInfo } from '$lib/ipc/testing';
import Welcome from './Welcome.svelte';

/** A promise the test settles by hand, to observe the loading state. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Welcome', () => {
  it('shows the name, tagline, features and the version read over IPC', async () => {
    const calls = mockCommands({ app_info: () => sampleAppInfo });

    render(Welcome);

    expect(screen.getByTestId('app-name')).toHaveTextContent('DataOptix');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('DataOptix');
    expect(screen.getByText('WhatsApp Business for your whole team')).toBeInTheDocument();

    const version = await screen.findByTestId('app-version');
    expect(version).toHaveTextContent('Version 0.1.0 · Graph API v23.0');
    expect(version).toHaveAttribute('dir', 'auto');
    expect(calls).toEqual(['app_info']);

    const features = screen.getByRole('region', { name: 'What DataOptix does for you' });
    expect(within(features).getAllByRole('listitem')).toHaveLength(3);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('renders the name the shell reports', async () => {
    mockCommands({
      app_info: () => ({ name: 'DataOptix Preview', version: '2.3.4', graphVersion: '24.0' }),
    });

    render(Welcome);

    expect(await screen.findByTestId('app-version')).toHaveTextContent(
      'Version 2.3.4 · Graph API v24.0',
    );
    expect(screen.getByTestId('app-name')).toHaveTextContent('DataOptix Preview');
  });

  it('shows a loading state until the shell answers', async () => {
    const reply = deferred<unknown>();
    mockCommands({ app_info: () => reply.promise });

    render(Welcome);

    expect(screen.getByTestId('app-version-loading')).toHaveTextContent('Checking version…');
    expect(screen.queryByTestId('app-version')).not.toBeInTheDocument();
    expect(screen.getByTestId('app-name')).toHaveTextContent('DataOptix');

    reply.resolve(sampleAppInfo);

    expect(await screen.findByTestId('app-version')).toHaveTextContent('0.1.0');
    expect(screen.queryByTestId('app-version-loading')).not.toBeInTheDocument();
  });

  it('explains a failing command and recovers on retry', async () => {
    let fail = true;
    const calls = mockCommands({
      app_info: () =>
        fail
          ? Promise.reject({ kind: 'internal', message: 'settings file is unreadable' })
          : sampleAppInfo,
    });
    const user = userEvent.setup();

    render(Welcome);

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('DataOptix couldn’t start');
    expect(alert).toHaveTextContent('The app engine reported a problem while starting.');
    expect(alert).toHaveTextContent('Details: settings file is unreadable');
    expect(screen.queryByTestId('app-version')).not.toBeInTheDocument();
    // The product name stays visible when the shell fails.
    expect(screen.getByTestId('app-name')).toHaveTextContent('DataOptix');

    fail = false;
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));

    expect(await screen.findByTestId('app-version')).toHaveTextContent('0.1.0');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(calls).toEqual(['app_info', 'app_info']);
  });

  it('says so when there is no Tauri bridge at all', async () => {
    // No mockIPC: like opening the dev server in a plain browser.
    render(Welcome);

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The app engine isn’t responding.');
  });

  it('reaches the retry button with the keyboard', async () => {
    mockCommands({ app_info: () => Promise.reject('boom') });
    const user = userEvent.setup();

    render(Welcome);
    await screen.findByRole('alert');
    await user.tab();

    expect(screen.getByRole('button', { name: 'Try again' })).toHaveFocus();
  });

  it('shows hostile error text as inert text', async () => {
    const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
    mockCommands({ app_info: () => Promise.reject(hostile) });

    const { container } = render(Welcome);

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(hostile);
    expect(container.querySelector('img, script')).toBeNull();
  });
});
