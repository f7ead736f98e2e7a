// Types only: the IPC contract the Rust shell implements (copied from notes/ipc-contract.ts).
// The wrappers in index.ts are the only code that uses these shapes at the IPC boundary.
// The IPC contract between the Rust shell (src-tauri) and the UI. The lead implements these
// commands in Rust with tauri-specta, which will GENERATE equivalent types into bindings.ts
// (same names, same shapes). Until then the UI codes against this file.
// Command names: the Rust command `snake_case` is called from TS as camelCase through bindings
// (`commands.listConversations(...)`); the UI must call them ONLY through wrapper functions in
// ui/src/lib/ipc/index.ts (one wrapper per command, via `call(...)` from errors.ts), so that
// swapping to the generated bindings only touches lib/ipc.

export type Cursor = { ts: number; id: number };           // keyset cursor
export type Page<T> = { items: T[]; next: Cursor | null };  // next = null: no more

export type Role = 'owner' | 'admin' | 'agent';
export type PhoneNumber = {
  id: string; wabaId: string; displayPhoneNumber: string | null; verifiedName: string | null;
  qualityRating: string | null;   // GREEN | YELLOW | RED | UNKNOWN
  messagingLimit: string | null;  // TIER_250 | TIER_2K | ... | UNLIMITED
  nameStatus: string | null; reconnectRequired: boolean;
};
export type Account = {
  userId: string; userName: string; email: string; role: Role;
  workspaceId: string; company: string; relayUrl: string; numbers: PhoneNumber[];
};
// What the app shows at start: passphrase prompt (no keyring), sign-in/up, or the inbox.
export type SessionState =
  | { kind: 'needsPassphrase'; firstRun: boolean }  // firstRun: choose one (twice) vs enter it
  | { kind: 'signedOut'; lastRelayUrl: string | null; defaultRelayUrl: string | null }
  | { kind: 'signedIn'; account: Account };

// commands
// sessionState(): Promise<SessionState>
// unlockWithPassphrase(passphrase: string): Promise<SessionState>
// register(input: { relayUrl: string; name: string; email: string; company: string; password: string }): Promise<Account>
// signIn(input: { relayUrl: string; email: string; password: string }): Promise<Account>
// joinWorkspace(input: { inviteLink: string; name: string; password: string }): Promise<Account>
// signOut(): Promise<null>

export type OnboardingStart = { sessionId: string; url: string };
export type OnboardingOutcome =
  | { state: 'waiting' }                                  // browser open, no deep link yet
  | { state: 'connected'; number: PhoneNumber }
  | { state: 'cancelled'; step: string | null; explanation: string }
  | { state: 'failed'; code: string; metaCode: string | null; explanation: string };
// startOnboarding(): Promise<OnboardingStart>   -- Rust opens `url` in the system browser itself
// onboardingStatus(sessionId: string): Promise<OnboardingOutcome>
// setupManual(input: { wabaId: string; phoneNumberId: string; token: string }): Promise<PhoneNumber>

export type WindowState = { open: boolean; expiresAt: number | null }; // unix seconds
export type ContactView = {
  id: number; name: string;              // best display name (display > profile > number)
  waId: string | null; userId: string | null; phone: string | null;
  restricted: boolean; optedOut: boolean;
};
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed';
export type ConversationSummary = {
  id: number; phoneNumberId: string; contact: ContactView;
  lastMessageAt: number;                  // unix seconds
  lastPreview: string | null; lastKind: string | null;
  lastDirection: 'in' | 'out' | null; lastStatus: MessageStatus | null;
  unreadCount: number; window: WindowState; labels: string[]; assignedTo: string | null;
};
export type ConversationFilter = { unreadOnly: boolean; label: string | null; assignedToMe: boolean };
// listConversations(filter: ConversationFilter, after: Cursor | null, limit: number): Promise<Page<ConversationSummary>>
// conversation(id: number): Promise<ConversationSummary>

export type MediaView = {
  metaId: string | null; mimeType: string | null; fileName: string | null; sizeBytes: number | null;
  state: 'pending' | 'downloading' | 'done' | 'failed';
  localUrl: string | null; // when done: a URL the webview may load (custom protocol), else null
};
export type MessageError = { code: number; title: string; explanation: string; action: string | null };
export type MessageView = {
  id: number; wamid: string; conversationId: number;
  direction: 'in' | 'out'; kind: string; // text,image,video,audio,voice,document,sticker,location,contacts,interactive,button,order,system,referral,reaction,template,unsupported,...
  ts: number; text: string | null; caption: string | null; media: MediaView | null;
  location: { latitude: number; longitude: number; name: string | null; address: string | null } | null;
  replyTo: { wamid: string; preview: string | null } | null;   // quoted message
  reactions: { emoji: string; by: string }[];
  status: MessageStatus | null; error: MessageError | null;
  editedAt: number | null; deleted: boolean;
  author: string | null;  // staff member who sent it (outbound), null for inbound/unknown
  raw: string;            // the JSON Meta sent / we sent; render interactive, contacts, order, referral, unsupported from it
};
// listMessages(conversationId: number, before: Cursor | null, limit: number): Promise<Page<MessageView>>  -- newest first

export type SearchResults = {
  messages: { message: MessageView; conversationId: number; contactName: string; snippet: string }[];
  contacts: ContactView[];
};
// search(query: string, limit: number): Promise<SearchResults>

export type Outgoing =
  | { type: 'text'; body: string; previewUrl: boolean }
  | { type: 'reaction'; messageWamid: string; emoji: string }      // '' removes
  | { type: 'template'; name: string; language: string; params: string[]; headerParams: string[] }
  | { type: 'location'; latitude: number; longitude: number; name: string | null; address: string | null }
  | { type: 'media'; path: string; caption: string | null; voice: boolean };   // a local file path (from the dialog / drop)
// sendMessage(conversationId: number, message: Outgoing, replyTo: string | null): Promise<MessageView>
//   errors: kind 'windowClosed' (offer templates), 'restricted', 'invalidInput', 'offline' never (queued instead)
// markRead(conversationId: number): Promise<null>
// setLabels(conversationId: number, labels: string[]): Promise<null>
// assign(conversationId: number, userName: string | null): Promise<null>

export type TemplateView = {
  id: number; name: string; language: string; category: string | null;
  status: string | null;  // APPROVED | PENDING | REJECTED | PAUSED | DISABLED
  quality: string | null; rejectedReason: string | null;
  bodyText: string | null; headerText: string | null; footerText: string | null;
  paramCount: number;      // body variables
  headerParamCount: number;
  buttons: { kind: string; text: string }[];
};
// listTemplates(approvedOnly: boolean): Promise<TemplateView[]>
// renderTemplate(templateId: number, params: string[], headerParams: string[]): Promise<{ header: string | null; body: string; footer: string | null; buttons: string[] }>

export type SyncState =
  | { state: 'online' } | { state: 'connecting' } | { state: 'offline'; retryInSeconds: number }
  | { state: 'catchingUp'; applied: number } | { state: 'resyncRequired' } | { state: 'signedOut' };
// syncState(): Promise<SyncState>
// outboxCount(): Promise<number>

// EVENTS (tauri-specta typed events; UI subscribes through wrappers in lib/ipc/index.ts):
//   inboxChanged   { conversationIds: number[] }   -- messages/statuses/labels changed: refetch those
//   syncStateChanged SyncState
//   onboardingLink  { sessionId: string }          -- deep link dataoptix://onboarding/complete arrived
//   deepLinkRejected { reason: string }

// Errors: every command rejects with { kind, message }. Kinds: invalidInput, internal,
//   unauthenticated (sign in again), relayUnreachable, windowClosed, restricted, notFound, conflict,
//   wrongPassphrase, keyringUnavailable.
