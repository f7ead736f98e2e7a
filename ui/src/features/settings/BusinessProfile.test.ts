import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { BusinessProfileView, ProfileUpdate } from '$lib/ipc';
import { mockCommands, type CommandCall, type CommandHandler } from '$lib/ipc/testing';
import { phoneNumber } from '../../test/fixtures';
import BusinessProfile from './BusinessProfile.svelte';
import { changes, charCount, draftOf, problemsByField } from './profile';

const HOSTILE = '<img src=x onerror="window.pwned=1">';

function view(overrides: Partial<BusinessProfileView> = {}): BusinessProfileView {
  return {
    phoneNumberId: 'pn-1',
    about: 'Fresh bread daily',
    address: 'Calle Mayor 1',
    description: null,
    email: 'hola@panaderia.example',
    websites: ['https://panaderia.example'],
    vertical: 'RESTAURANT',
    profilePictureUrl: null,
    verticals: ['OTHER', 'RESTAURANT', 'PROF_SERVICES'],
    ...overrides,
  };
}

/** The same kind of per-field messages the core's `problems()` gives. */
function problems(update: ProfileUpdate): string[] {
  const out: string[] = [];
  if (update.about !== null && charCount(update.about) > 139) out.push(`about: at most 139 characters (${charCount(update.about)} now)`);
  if (update.about?.trim() === '') out.push('about: must not be empty');
  if (update.email !== null && update.email !== '' && !update.email.includes('@')) {
    out.push(`email: ${JSON.stringify(update.email)} is not an email address`);
  }
  for (const site of update.websites ?? []) {
    if (!site.startsWith('http')) out.push(`websites: ${JSON.stringify(site)} is not an http(s) address`);
  }
  return out;
}

function setup(handlers: Record<string, CommandHandler> = {}, canManage = true) {
  const log: CommandCall[] = [];
  let stored = view();
  mockCommands(
    {
      business_profile: () => stored,
      business_profile_problems: (args) => problems(args?.update as ProfileUpdate),
      update_business_profile: (args) => {
        const update = args?.update as ProfileUpdate;
        stored = {
          ...stored,
          about: update.about ?? stored.about,
          email: update.email ?? stored.email,
          vertical: update.vertical ?? stored.vertical,
          websites: update.websites ?? stored.websites,
        };
        return stored;
      },
      ...handlers,
    },
    log,
  );
  render(BusinessProfile, { numbers: [phoneNumber({ id: 'pn-1' })], canManage });
  return log;
}

describe('profile form data', () => {
  it('sends only what changed, trimmed, and drops empty websites', () => {
    const saved = draftOf(view());
    const draft = { ...saved, about: ' Open 8–18 ', websites: ['', 'https://b.example'] as [string, string] };
    expect(changes(saved, draft)).toEqual({
      about: 'Open 8–18',
      description: null,
      address: null,
      email: null,
      websites: ['https://b.example'],
      vertical: null,
    });
    expect(changes(saved, { ...saved, address: '' }).address).toBe('');
    // Counted like the core: an emoji is one character.
    expect(charCount('pan 🥖')).toBe(5);
  });

  it('puts each problem on its field and keeps unknown ones', () => {
    expect(
      problemsByField(['about: must not be empty', 'websites: at most 2', 'websites: "x" is not an http(s) address', 'odd']),
    ).toEqual({ about: 'must not be empty', websites: 'at most 2 "x" is not an http(s) address', other: 'odd' });
  });
});

describe('Business profile settings', () => {
  it('shows the core’s problems on their fields and blocks saving until fixed', async () => {
    const user = userEvent.setup();
    const log = setup();
    const about = await screen.findByTestId('profile-about');
    expect(about).toHaveValue('Fresh bread daily');
    expect(screen.getByTestId('profile-save')).toBeDisabled();

    await user.clear(about);
    await user.type(about, 'x'.repeat(140));
    await waitFor(() => {
      expect(about).toHaveAttribute('aria-invalid', 'true');
    });
    // The core's answer for the full 140 may land after an earlier keystroke's made the field invalid.
    expect(await screen.findByText('at most 139 characters (140 now)')).toBeInTheDocument();
    expect(screen.getByText('140 / 139')).toBeInTheDocument();
    await user.clear(screen.getByTestId('profile-email'));
    await user.type(screen.getByTestId('profile-email'), 'not-an-email');
    expect(await screen.findByText('"not-an-email" is not an email address')).toBeInTheDocument();
    expect(screen.getByTestId('profile-save')).toBeDisabled();

    await user.type(about, '{Backspace}');
    await user.clear(screen.getByTestId('profile-email'));
    await user.type(screen.getByTestId('profile-email'), 'ana@panaderia.example');
    await user.selectOptions(screen.getByTestId('profile-vertical'), 'Prof services');
    await waitFor(() => {
      expect(screen.getByTestId('profile-save')).toBeEnabled();
    });
    await user.click(screen.getByTestId('profile-save'));
    expect(await screen.findByTestId('profile-saved')).toHaveTextContent('Profile saved.');
    expect(log.find((c) => c.cmd === 'update_business_profile')?.args).toEqual({
      phoneNumberId: 'pn-1',
      update: {
        about: 'x'.repeat(139),
        description: null,
        address: null,
        email: 'ana@panaderia.example',
        websites: null,
        vertical: 'PROF_SERVICES',
      },
    });
    expect(screen.getByTestId('profile-save')).toBeDisabled();
  });

  it('shows a refused save and keeps the edits', async () => {
    const user = userEvent.setup();
    setup({ update_business_profile: () => Promise.reject({ kind: 'remote', message: 'Meta: (#100) Invalid parameter' }) });
    const address = await screen.findByTestId('profile-address');
    await user.clear(address);
    await user.type(address, 'Plaza 2');
    await waitFor(() => {
      expect(screen.getByTestId('profile-save')).toBeEnabled();
    });
    await user.click(screen.getByTestId('profile-save'));
    expect(await screen.findByTestId('profile-save-error')).toHaveTextContent('(#100) Invalid parameter');
    expect(address).toHaveValue('Plaza 2');
  });

  it('says when the profile cannot be read, and shows hostile values as text', async () => {
    const user = userEvent.setup();
    let fail = true;
    setup({
      business_profile: () =>
        fail ? Promise.reject({ kind: 'invalidInput', message: 'no WhatsApp token for this number' }) : view({ about: HOSTILE }),
    });
    expect(await screen.findByTestId('profile-load-error')).toHaveTextContent('no WhatsApp token');
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('profile-about')).toHaveValue(HOSTILE);
    expect(screen.getByTestId('business-profile').querySelector('img')).toBeNull();
  });

  it('changes the photo without losing edits in progress, and says when it fails', async () => {
    const user = userEvent.setup();
    let refuse = false;
    const log = setup({
      choose_profile_photo: () =>
        refuse
          ? Promise.reject({ kind: 'invalidInput', message: 'a profile photo must be image/jpeg or image/png' })
          : view({ profilePictureUrl: 'https://pps.example/p.jpg' }),
    });
    expect(await screen.findByTestId('profile-photo-state')).toHaveTextContent('No photo yet.');
    const address = screen.getByTestId('profile-address');
    await user.clear(address);
    await user.type(address, 'Plaza 2');
    await user.click(screen.getByTestId('profile-photo-choose'));
    expect(await screen.findByTestId('profile-photo-saved')).toHaveTextContent('Profile photo changed.');
    expect(screen.getByTestId('profile-photo-state')).toHaveTextContent('A photo is set.');
    expect(address).toHaveValue('Plaza 2');
    expect(log).toContainEqual({ cmd: 'choose_profile_photo', args: { phoneNumberId: 'pn-1' } });
    refuse = true;
    await user.click(screen.getByTestId('profile-photo-choose'));
    expect(await screen.findByTestId('profile-photo-error')).toHaveTextContent('must be image/jpeg or image/png');
  });

  it('lets agents read the profile but not change it', async () => {
    setup({}, false);
    expect(await screen.findByTestId('profile-about')).toBeDisabled();
    expect(screen.getByTestId('profile-managers-only')).toBeInTheDocument();
    expect(screen.queryByTestId('profile-save')).toBeNull();
    expect(screen.queryByTestId('profile-photo-choose')).toBeNull();
  });
});
