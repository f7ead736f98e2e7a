/**
 * The English message catalogue: every string the UI shows lives here.
 *
 * Keys are flat and dotted (`area.thing`). Placeholders are written `{name}` and are
 * type-checked by `t()`: a message with `{version}` cannot be rendered without a `version`.
 * Another locale is a file of the same shape: `export const fr = { ... } satisfies Catalogue;`.
 */
export const en = {
  'app.name': 'DataOptix',
  'app.tagline': 'WhatsApp Business for your whole team',

  'welcome.title': 'Welcome to DataOptix',
  'welcome.version': 'Version {version}',
  'welcome.graphVersion': 'Graph API {graphVersion}',
  'welcome.versionLoading': 'Checking version…',
  'welcome.featuresLabel': 'What DataOptix does for you',
  'welcome.feature.inbox.title': 'One inbox for everyone',
  'welcome.feature.inbox.body':
    'Every teammate, on every computer, sees the same conversations, labels and notes.',
  'welcome.feature.templates.title': 'Templates and broadcasts, done right',
  'welcome.feature.templates.body':
    'Create, approve and send message templates, and stay inside WhatsApp’s 24-hour window.',
  'welcome.feature.private.title': 'Your history stays with you',
  'welcome.feature.private.body':
    'Messages are stored encrypted on this computer and searchable even when you are offline.',
  'welcome.error.title': 'DataOptix couldn’t start',
  'welcome.error.unavailable':
    'The app engine isn’t responding. Open DataOptix from its desktop shortcut, or restart it.',
  'welcome.error.backend': 'The app engine reported a problem while starting.',
  'welcome.error.details': 'Details: {message}',
  'welcome.error.retry': 'Try again',
  'welcome.error.retrying': 'Trying again…',

  'common.loading': 'Loading…',
} as const;

export type Catalogue = { readonly [K in keyof typeof en]: string };
