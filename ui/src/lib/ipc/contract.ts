// The IPC shapes the UI uses, taken from the bindings tauri-specta generates from the Rust
// commands (bindings.ts), so that a change on either side fails `npm run check`. The UI keeps
// its own names where they read better, and narrows a few strings it switches on.
import type {
  Account as GeneratedAccount,
  ConversationSummary as GeneratedConversationSummary,
  MessageView as GeneratedMessageView,
  PageCursor,
  PhoneNumberView,
  SearchView,
  ViewPage,
} from './bindings';

export type {
  AccountNoticeView,
  BroadcastCounts,
  BroadcastForm,
  BroadcastPreview,
  BroadcastProgress,
  BroadcastSummary,
  BusinessProfileView,
  HeaderMediaInput,
  HeaderSample,
  ImportIssue,
  ParamSource,
  PlannedRecipient,
  ProfileUpdate,
  RecipientSource,
  RecipientView,
  ActivityIntegrity,
  AttachmentCheck,
  AttachmentInput,
  ActivityPageView,
  ActivityView,
  ContactCursor,
  ContactDetail,
  ContactPage,
  EraseResult,
  ExportProgress,
  ExportResult,
  RetentionResult,
  RetentionSettings,
  ContactView,
  ConversationFilter,
  DeviceSessionView,
  InvitationView,
  MemberView,
  TeamView,
  DeepLinkRejected,
  InboxChanged,
  JoinInput,
  JoinLink,
  LocationView,
  ManualSetupInput,
  MediaView,
  FieldChangeView,
  NoteView,
  QuickReplyView,
  MessageError,
  OnboardingLink,
  OnboardingOutcome,
  OnboardingStart,
  Outgoing,
  RegisterInput,
  RenderedPreview as RenderedTemplate,
  SessionState,
  SignInInput,
  SyncState,
  TemplateView,
  TemplateForm,
  HeaderForm,
  ButtonForm,
  LintIssueView as LintIssue,
  TemplateLintView,
  TemplateDetailView,
  TemplateHistoryView,
  TemplatesChanged,
  VoiceRecording,
  WindowState,
} from './bindings';

export type Cursor = PageCursor;
export type Page<T> = ViewPage<T>;
export type PhoneNumber = PhoneNumberView;
export type SearchResults = SearchView;
export type Role = 'owner' | 'admin' | 'agent';
export type Account = GeneratedAccount;
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed';
// The core writes only these values into a message's status (store/repo.rs, send/): the
// generated type says `string`, the UI switches on the closed set.
export type MessageView = Omit<GeneratedMessageView, 'status'> & { status: MessageStatus | null };
export type ConversationSummary = Omit<GeneratedConversationSummary, 'lastStatus'> & {
  lastStatus: MessageStatus | null;
};
