//! The device's errors, each with a stable `kind` the UI switches on.

use crate::store::StoreError;
use crate::sync::SyncError;
use crate::vault::VaultError;

/// What went wrong on the device, in terms the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// No keyring: a passphrase must be chosen (`first_run`) or entered.
    #[error(
        "no OS keyring is available on this computer, so a passphrase protects DataOptix's data; {}",
        if *first_run { "choose one" } else { "enter it to unlock" }
    )]
    NeedsPassphrase {
        /// No vault existed yet.
        first_run: bool,
    },
    /// Not signed in.
    #[error("you are not signed in")]
    SignedOut,
    /// The relay refused the credentials or the session.
    #[error("{0}")]
    Unauthenticated(String),
    /// The relay cannot be reached.
    #[error(
        "the DataOptix server at {url} cannot be reached; check the address and your connection"
    )]
    RelayUnreachable {
        /// The relay's URL.
        url: String,
    },
    /// The input was refused.
    #[error("{0}")]
    InvalidInput(String),
    /// The thing asked for does not exist (or is not this workspace's).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with what exists (e.g. the email is taken).
    #[error("{0}")]
    Conflict(String),
    /// The role of the signed-in user does not allow it.
    #[error("your role does not allow this; ask an owner or admin")]
    Forbidden,
    /// This device lacks the workspace key (signed in on a new device without an invitation).
    #[error(
        "this device does not hold the workspace key yet, so it cannot read the workspace's \
         messages. Open an invitation link from a teammate's device (Settings → Staff → Invite) \
         to join on this device"
    )]
    KeyMissing,
    /// The relay answered something else.
    #[error("the DataOptix server answered {status}: {message}")]
    Relay {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Free-form messages are not allowed outside the 24-hour window: send a template.
    #[error("{0}")]
    WindowClosed(String),
    /// The contact is restricted or opted out.
    #[error("{0}")]
    Restricted(String),
    /// A template draft breaks Meta's rules: the issues, located on the editor's fields.
    #[error("the template has problems to fix first: {}", summary(.0))]
    Lint(Vec<super::LintIssueView>),
    /// The Graph API refused (manual setup, sends).
    #[error("{0}")]
    Meta(String),
    /// Secrets.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The owner deleted the workspace: nothing more goes to customers or Meta from this
    /// device; what is left is erasing its copy.
    #[error(
        "the owner deleted this workspace, so nothing more can be sent from this device; \
         erase this device's copy of it"
    )]
    WorkspaceDeleted,
    /// Anything else inside the app.
    #[error("{0}")]
    Internal(String),
}

impl From<crate::team::TeamError> for DeviceError {
    fn from(error: crate::team::TeamError) -> Self {
        use crate::team::TeamError;
        match error {
            TeamError::Invalid(message) => Self::InvalidInput(message),
            TeamError::Store(e) => Self::Store(e),
            TeamError::Vault(e) => Self::Vault(e),
            TeamError::Seal(e) => Self::Internal(format!("sealing a team event failed: {e}")),
        }
    }
}

fn summary(issues: &[super::LintIssueView]) -> String {
    issues
        .iter()
        .filter(|i| i.severity == "error")
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DeviceError {
    /// The lint issues of a refused template draft (empty for other errors).
    pub fn lint_issues(&self) -> &[super::LintIssueView] {
        match self {
            Self::Lint(issues) => issues,
            _ => &[],
        }
    }

    /// A stable name for the UI (`invalidInput`, `unauthenticated`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NeedsPassphrase { .. } => "needsPassphrase",
            Self::SignedOut | Self::Unauthenticated(_) => "unauthenticated",
            Self::RelayUnreachable { .. } => "relayUnreachable",
            Self::InvalidInput(_) => "invalidInput",
            Self::NotFound(_) => "notFound",
            Self::Conflict(_) => "conflict",
            Self::Forbidden | Self::WorkspaceDeleted => "forbidden",
            Self::KeyMissing => "keyMissing",
            Self::WindowClosed(_) => "windowClosed",
            Self::Restricted(_) => "restricted",
            Self::Relay { .. } | Self::Meta(_) => "remote",
            Self::Lint(_) => "lint",
            Self::Vault(VaultError::WrongPassphrase) => "wrongPassphrase",
            Self::Vault(e) if e.is_keyring_unavailable() => "keyringUnavailable",
            Self::Vault(_) | Self::Store(_) | Self::Internal(_) => "internal",
        }
    }

    /// Maps a relay error, naming the relay when it cannot be reached.
    pub(crate) fn from_sync(error: SyncError, relay_url: &str) -> Self {
        match error {
            SyncError::Http(_) | SyncError::StreamBroken(_) => Self::RelayUnreachable {
                url: relay_url.to_owned(),
            },
            SyncError::NotSignedIn => Self::SignedOut,
            SyncError::Api {
                status, message, ..
            } => match status {
                400 | 422 => Self::InvalidInput(message),
                401 => Self::Unauthenticated(if message.is_empty() {
                    "the email or password is wrong, or the session ended".into()
                } else {
                    message
                }),
                403 => Self::Forbidden,
                404 => Self::NotFound(message),
                409 => Self::Conflict(message),
                429 => Self::Relay {
                    status,
                    message: if message.is_empty() {
                        "too many attempts; wait a minute and try again".into()
                    } else {
                        message
                    },
                },
                _ => Self::Relay { status, message },
            },
            SyncError::Store(e) => Self::Store(e),
            SyncError::Vault(e) => Self::Vault(e),
            e @ (SyncError::ResyncRequired { .. } | SyncError::Interrupted) => {
                Self::Internal(e.to_string())
            }
        }
    }
}
