/** Builders of contract values for tests: realistic defaults, overridable per test. */
import type {
  Account,
  ContactView,
  ConversationSummary,
  MessageView,
  PhoneNumber,
  TemplateView,
} from '$lib/ipc';

export const NOW_S = 1_750_000_000; // 2025-06-15T15:06:40Z

export function phoneNumber(overrides: Partial<PhoneNumber> = {}): PhoneNumber {
  return {
    id: '106540352242922',
    wabaId: '102290129340398',
    displayPhoneNumber: '+1 555-010-2000',
    verifiedName: 'Lumen Flowers',
    qualityRating: 'GREEN',
    messagingLimit: 'TIER_2K',
    nameStatus: 'APPROVED',
    reconnectRequired: false,
    ...overrides,
  };
}

export function account(overrides: Partial<Account> = {}): Account {
  return {
    userId: 'u-1',
    userName: 'Ana Owner',
    email: 'ana@lumen.example',
    role: 'owner',
    workspaceId: 'w-1',
    company: 'Lumen Flowers',
    relayUrl: 'https://relay.lumen.example',
    numbers: [phoneNumber()],
    ...overrides,
  };
}

export function contact(id: number, overrides: Partial<ContactView> = {}): ContactView {
  return {
    id,
    name: `Customer ${id}`,
    waId: `1650555${String(id).padStart(4, '0')}`,
    userId: null,
    phone: `+1 650-555-${String(id).padStart(4, '0')}`,
    restricted: false,
    optedOut: false,
    ...overrides,
  };
}

export function conversation(
  id: number,
  overrides: Partial<ConversationSummary> = {},
): ConversationSummary {
  return {
    id,
    phoneNumberId: '106540352242922',
    contact: contact(id),
    lastMessageAt: NOW_S - id * 60,
    lastPreview: `Hello from ${id}`,
    lastKind: 'text',
    lastDirection: 'in',
    lastStatus: null,
    unreadCount: 0,
    window: { open: true, expiresAt: NOW_S + 3 * 3600 },
    labels: [],
    assignedTo: null,
    ...overrides,
  };
}

export function conversations(count: number, from = 1): ConversationSummary[] {
  return Array.from({ length: count }, (_, i) => conversation(from + i));
}

let nextMessageId = 1;

export function message(overrides: Partial<MessageView> = {}): MessageView {
  const id = overrides.id ?? nextMessageId++;
  return {
    id,
    wamid: `wamid.test-${id}`,
    conversationId: 1,
    direction: 'in',
    kind: 'text',
    ts: NOW_S - 600 + id,
    text: `Message ${id}`,
    caption: null,
    media: null,
    location: null,
    replyTo: null,
    reactions: [],
    status: null,
    error: null,
    editedAt: null,
    deleted: false,
    author: null,
    raw: '{}',
    ...overrides,
  };
}

export function template(id: number, overrides: Partial<TemplateView> = {}): TemplateView {
  return {
    id,
    name: `template_${id}`,
    language: 'en_US',
    category: 'UTILITY',
    status: 'APPROVED',
    quality: 'GREEN',
    rejectedReason: null,
    bodyText: 'Hi {{1}}, your order {{2}} is ready.',
    headerText: null,
    footerText: null,
    paramCount: 2,
    headerParamCount: 0,
    headerFormat: null,
    buttons: [],
    ...overrides,
  };
}
