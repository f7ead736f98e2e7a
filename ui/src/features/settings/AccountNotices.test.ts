import { render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { AccountNoticeView } from '$lib/ipc';
import { emitEvent, mockCommands } from '$lib/ipc/testing';
import AccountNotices from './AccountNotices.svelte';
import { factLabel, KNOWN_FACTS, KNOWN_KINDS, kindLabel } from './notices';

const HOSTILE = '<img src=x onerror=alert(1)>';

function notice(id: number, over: Partial<AccountNoticeView> = {}): AccountNoticeView {
  return {
    id,
    at: 1_750_000_000,
    kind: 'account_update',
    phoneNumberId: null,
    code: 'DISABLED_UPDATE',
    facts: [{ name: 'ban_state', value: 'SCHEDULE_FOR_DISABLE' }],
    attention: true,
    ...over,
  };
}

describe('Account notices', () => {
  it('lists what Meta said, newest first, with its code and facts as text', async () => {
    mockCommands({
      account_notices: () => [
        notice(2),
        notice(1, {
          kind: 'business_capability_update',
          code: null,
          facts: [
            { name: 'conversations_per_number', value: '1000' },
            { name: 'description', value: HOSTILE },
            { name: 'some_new_fact', value: 'x' },
          ],
          attention: false,
        }),
      ],
    });
    render(AccountNotices);
    const items = await screen.findAllByTestId('account-notice');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent('Account update');
    expect(items[0]).toHaveTextContent('DISABLED_UPDATE');
    expect(items[0]).toHaveTextContent('Needs attention');
    expect(items[0]).toHaveTextContent('Ban state: SCHEDULE_FOR_DISABLE');
    expect(items[0]).toHaveClass('attention');
    expect(items[1]).toHaveTextContent('Messaging limits');
    expect(items[1]).not.toHaveTextContent('Needs attention');
    expect(items[1]).toHaveTextContent('Conversations a day per number: 1000');
    expect(items[1]).toHaveTextContent('some_new_fact: x');
    // Meta's text is text, never markup.
    expect(items[1]).toHaveTextContent(HOSTILE);
    expect(items[1]?.querySelector('img')).toBeNull();
  });

  it('says when there is nothing yet, and shows a failure as the core said it', async () => {
    mockCommands({ account_notices: () => [] });
    const { unmount } = render(AccountNotices);
    expect(await screen.findByTestId('account-notices-empty')).toBeInTheDocument();
    unmount();
    mockCommands({
      account_notices: () => Promise.reject({ kind: 'signedOut', message: 'sign in first' }),
    });
    render(AccountNotices);
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('sign in first'));
  });

  it('shows a notice that sync just applied without a reload', async () => {
    let held: AccountNoticeView[] = [];
    mockCommands({ account_notices: () => held });
    render(AccountNotices);
    expect(await screen.findByTestId('account-notices-empty')).toBeInTheDocument();
    held = [notice(3, { kind: 'account_review_update', code: 'APPROVED', facts: [], attention: false })];
    await emitEvent('inboxChanged', { conversationIds: [] });
    const item = await screen.findByTestId('account-notice');
    expect(item).toHaveTextContent('Account review');
    expect(item).toHaveTextContent('APPROVED');
  });

  it('names every kind the core keeps, and shows an unknown one as it came', () => {
    const labels = KNOWN_KINDS.map(kindLabel);
    expect(new Set(labels).size).toBe(KNOWN_KINDS.length);
    expect(labels.every((l, i) => l !== KNOWN_KINDS[i])).toBe(true);
    expect(kindLabel('some_new_field')).toBe('some_new_field');
    expect(kindLabel('constructor')).toBe('constructor');
    const facts = KNOWN_FACTS.map(factLabel);
    expect(new Set(facts).size).toBe(KNOWN_FACTS.length);
    expect(facts.every((l, i) => l !== KNOWN_FACTS[i])).toBe(true);
    expect(factLabel('some_new_fact')).toBe('some_new_fact');
  });
});
