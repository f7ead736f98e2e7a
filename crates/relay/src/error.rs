//! The relay's one error type at the HTTP boundary: client errors carry a `kind` and a plain
//! message; internal causes are logged here and answered with a bare 500.

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::error::{ErrorBody, ErrorKind};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid device session is required")]
    Unauthenticated,
    /// 410: the session was one of a workspace its owner deleted (only its token's hash is
    /// kept, to say so): its devices can tell their people and offer to erase their copy.
    #[error("this workspace was deleted by its owner")]
    WorkspaceDeleted,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again later")]
    LockedOut,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed, but Meta does not back it (say, a token that does not grant the WABA).
    #[error("{0}")]
    Unprocessable(String),
    /// 502: the Graph API could not be asked, or failed; the caller may try again.
    #[error("{0}")]
    BadGateway(String),
    /// Retryable: the caller (Meta) should try again.
    #[error("temporarily unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => AppError::Conflict("that email is already registered".into()),
            StoreError::WabaTaken => {
                AppError::Conflict("that WABA is linked to another workspace".into())
            }
            StoreError::NotFound => AppError::NotFound,
            StoreError::InvitationInvalid => AppError::NotFound,
            e @ (StoreError::LastOwner | StoreError::MemberChanged) => {
                AppError::Conflict(e.to_string())
            }
            StoreError::WalBusy | StoreError::IndexBehind => AppError::Unavailable,
            other => AppError::Internal(other.into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorKind::BadRequest),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorKind::Unauthenticated),
            AppError::WorkspaceDeleted => (StatusCode::GONE, ErrorKind::WorkspaceDeleted),
            AppError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, ErrorKind::InvalidCredentials)
            }
            AppError::LockedOut => (StatusCode::TOO_MANY_REQUESTS, ErrorKind::LockedOut),
            AppError::Forbidden => (StatusCode::FORBIDDEN, ErrorKind::Forbidden),
            AppError::NotFound => (StatusCode::NOT_FOUND, ErrorKind::NotFound),
            AppError::Conflict(_) => (StatusCode::CONFLICT, ErrorKind::Conflict),
            AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorKind::BadRequest),
            AppError::BadGateway(_) => (StatusCode::BAD_GATEWAY, ErrorKind::Internal),
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Internal),
            AppError::Internal(cause) => {
                // The only place internal causes are reported; the client learns nothing.
                tracing::error!(error = format!("{cause:#}"), "request failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let body = ErrorBody {
            kind,
            message: self.to_string(),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// `axum::Json`, except that a body that does not parse is answered like every other client
/// error: `400 {"kind": "bad_request", "message": ...}` instead of axum's plain-text 422.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
