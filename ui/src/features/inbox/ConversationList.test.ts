import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { conversation, conversations, NOW_S } from '../../test/fixtures';
import ConversationList from './ConversationList.svelte';

const NOW_MS = NOW_S * 1000;

function renderList(count: number, props: Partial<{ hasMore: boolean; onneedmore: () => void }> = {}) {
  const onselect = vi.fn();
  const onneedmore = props.onneedmore ?? vi.fn();
  const result = render(ConversationList, {
    items: conversations(count),
    selectedId: null,
    hasMore: props.hasMore ?? false,
    loadingMore: false,
    now: NOW_MS,
    onselect,
    onneedmore,
  });
  return { ...result, onselect, onneedmore };
}

function renderedIds(): number[] {
  return screen
    .getAllByTestId('conversation-row')
    .map((row) => Number(row.getAttribute('data-conversation-id')));
}

describe('ConversationList virtualisation', () => {
  it('renders only the visible rows of 10,000 conversations', () => {
    renderList(10_000);
    const rows = screen.getAllByTestId('conversation-row');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(60);
    // The scroll area is as tall as all rows, so the scrollbar is honest.
    const spacer = screen.getByRole('list');
    expect(Number.parseInt(spacer.style.height, 10)).toBeGreaterThan(10_000 * 50);
  });

  it('windows by scrollTop: the middle and the end of the list render their rows only', async () => {
    renderList(10_000);
    const viewport = screen.getByTestId('conversation-list');
    const spacer = screen.getByRole('list');
    const rowHeight = Number.parseInt(spacer.style.height, 10) / 10_000;

    viewport.scrollTop = 5_000 * rowHeight;
    await fireEvent.scroll(viewport);
    let ids = renderedIds();
    expect(ids.length).toBeLessThan(60);
    // Conversation ids are 1-based: row index 5000 is conversation 5001.
    expect(ids).toContain(5_001);
    expect(ids).not.toContain(1);
    expect(Math.min(...ids)).toBeGreaterThan(4_980);

    viewport.scrollTop = 10_000 * rowHeight;
    await fireEvent.scroll(viewport);
    ids = renderedIds();
    expect(ids).toContain(10_000);
    expect(ids.length).toBeLessThan(60);
  });

  it('asks for the next page only when scrolling nears the end', async () => {
    const onneedmore = vi.fn();
    renderList(200, { hasMore: true, onneedmore });
    expect(onneedmore).not.toHaveBeenCalled();
    const viewport = screen.getByTestId('conversation-list');
    const rowHeight = Number.parseInt(screen.getByRole('list').style.height, 10) / 200;
    viewport.scrollTop = 170 * rowHeight;
    await fireEvent.scroll(viewport);
    expect(onneedmore).toHaveBeenCalled();
  });

  it('does not ask for more at the end of the data', async () => {
    const onneedmore = vi.fn();
    renderList(30, { hasMore: false, onneedmore });
    const viewport = screen.getByTestId('conversation-list');
    viewport.scrollTop = 10_000;
    await fireEvent.scroll(viewport);
    expect(onneedmore).not.toHaveBeenCalled();
  });

  it('opens a conversation on click', async () => {
    const { onselect } = renderList(10);
    const row = screen.getAllByTestId('conversation-row')[2];
    if (row === undefined) throw new Error('no row');
    await fireEvent.click(row);
    expect(onselect).toHaveBeenCalledWith(3);
  });
});

describe('ConversationRow', () => {
  it('shows name, preview, time, unread, window, labels and the last outbound tick', () => {
    render(ConversationList, {
      items: [
        conversation(1, {
          contact: { ...conversation(1).contact, name: 'Lucía Gómez' },
          lastMessageAt: NOW_S - 3600,
          lastPreview: 'Is the bouquet ready?',
          lastDirection: 'out',
          lastStatus: 'read',
          unreadCount: 3,
          window: { open: true, expiresAt: NOW_S + 2 * 3600 + 5 * 60 },
          labels: ['vip', 'wedding'],
        }),
        conversation(2, {
          lastMessageAt: NOW_S - 3 * 86_400,
          window: { open: false, expiresAt: null },
        }),
      ],
      selectedId: 1,
      hasMore: false,
      loadingMore: false,
      now: NOW_MS,
      onselect: vi.fn(),
      onneedmore: vi.fn(),
    });
    const [first, second] = screen.getAllByTestId('conversation-row');
    expect(first).toHaveTextContent('Lucía Gómez');
    expect(first).toHaveTextContent('Is the bouquet ready?');
    expect(first).toHaveTextContent('2:06 PM'); // today: the time (UTC test clock)
    expect(first).toHaveTextContent('2 h 5 m left');
    expect(first).toHaveTextContent('vip');
    expect(first).toHaveAttribute('aria-current', 'true');
    expect(screen.getByLabelText('3 unread')).toHaveTextContent('3');
    expect(first?.querySelector('[data-status="read"]')).not.toBeNull();
    expect(second).toHaveTextContent('Window closed');
    expect(second).toHaveTextContent('6/12/25'); // another day: the date
  });
});
