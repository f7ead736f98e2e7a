//! The error body of every non-2xx answer of the device API.

use serde::{Deserialize, Serialize};

/// `{"kind": "...", "message": "..."}`. Devices switch on `kind`; `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 400/422: the request is malformed; `message` says which field.
    BadRequest,
    /// 401: no session, or a revoked/unknown one.
    Unauthenticated,
    /// 401 on sign-in: wrong email or password (never says which).
    InvalidCredentials,
    /// 429: too many failed sign-ins; try again later.
    LockedOut,
    /// 403: the role does not allow this.
    Forbidden,
    /// 404: nothing of that id in this workspace.
    NotFound,
    /// 409: e.g. the email is taken, or the WABA belongs to another workspace.
    Conflict,
    /// 410: the session's workspace was deleted by its owner; this device may erase its copy.
    WorkspaceDeleted,
    /// 500: logged on the relay; details are not given out.
    Internal,
}
