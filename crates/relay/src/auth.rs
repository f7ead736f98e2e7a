//! Who is calling: session tokens, password hashing, the sign-in limiter and the `Auth`
//! extractor every device route takes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use protocol::auth::Role;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::PasswordHashing;
use crate::error::AppError;
use crate::AppState;

/// Prefix that makes a leaked token recognisable to secret scanners.
const TOKEN_PREFIX: &str = "dxr_";

/// A fresh bearer token: 256 random bits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps instead of the token. Lookups go by this hash, so comparing a
/// presented token never touches secret bytes in a data-dependent way, and a stolen database
/// yields no usable token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn argon2(cost: PasswordHashing) -> Result<Argon2<'static>, anyhow::Error> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Argon2id PHC string. CPU- and memory-heavy: call from `spawn_blocking`.
pub fn hash_password(password: &str, cost: PasswordHashing) -> Result<String, anyhow::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?
        .to_string())
}

/// Checks a password against a stored PHC string (its own parameters apply).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Failed sign-ins per account and per client IP, with a temporary lockout.
///
/// In memory: it resets when the relay restarts and is per instance, which is acceptable for
/// the single-instance SQLite deployment; a shared store comes with PostgreSQL.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    inner: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

pub const ACCOUNT_MAX_FAILURES: u32 = 5;
pub const IP_MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 100_000;

impl SignInLimiter {
    fn keys(email: &str, ip: Option<std::net::IpAddr>) -> Vec<(String, u32)> {
        let mut keys = vec![(format!("account:{email}"), ACCOUNT_MAX_FAILURES)];
        if let Some(ip) = ip {
            keys.push((format!("ip:{ip}"), IP_MAX_FAILURES));
        }
        keys
    }

    /// Err if the account or the IP is locked out right now.
    pub fn check(&self, email: &str, ip: Option<std::net::IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let map = self
            .inner
            .lock()
            .map_err(|_| anyhow::anyhow!("limiter poisoned"))?;
        for (key, _) in Self::keys(email, ip) {
            if let Some(f) = map.get(&key) {
                if f.locked_until.is_some_and(|t| t > now) {
                    return Err(AppError::LockedOut);
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, email: &str, ip: Option<std::net::IpAddr>) {
        let now = Instant::now();
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        if map.len() > MAX_TRACKED {
            map.retain(|_, f| {
                now.duration_since(f.window_start) < WINDOW
                    || f.locked_until.is_some_and(|t| t > now)
            });
        }
        for (key, max) in Self::keys(email, ip) {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                window_start: now,
                locked_until: None,
            });
            if now.duration_since(f.window_start) > WINDOW {
                *f = Failures {
                    count: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            f.count += 1;
            if f.count >= max {
                f.locked_until = Some(now + LOCKOUT);
            }
        }
    }

    /// A successful sign-in clears the account's counter (not the IP's).
    pub fn record_success(&self, email: &str) {
        if let Ok(mut map) = self.inner.lock() {
            map.remove(&format!("account:{email}"));
        }
    }
}

/// The caller of a device route, from `Authorization: Bearer <session token>`.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    pub session_id: Uuid,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    /// Where this session's view of the event log begins (see [`AuthRecord::entitled_after`]).
    ///
    /// [`AuthRecord::entitled_after`]: crate::store::AuthRecord::entitled_after
    pub entitled_after: i64,
}

impl Auth {
    /// Owner or admin only.
    pub fn require_manager(&self) -> Result<(), AppError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// How stale `last_seen_at` may get before a request refreshes it (saves a write per request).
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(AppError::Unauthenticated)?;
        let hash = hash_token(token);
        let Some(record) = state.store.session_by_token_hash(hash).await? else {
            return Err(if state.store.session_of_deleted_workspace(hash).await? {
                AppError::WorkspaceDeleted
            } else {
                AppError::Unauthenticated
            });
        };
        let now = OffsetDateTime::now_utc();
        if now - record.last_seen_at > TOUCH_EVERY {
            if let Err(e) = state.store.touch_session(record.session_id, now).await {
                tracing::warn!(error = %e, "could not update session last_seen_at");
            }
        }
        Ok(Auth {
            session_id: record.session_id,
            workspace_id: record.workspace_id,
            user_id: record.user_id,
            role: record.role,
            entitled_after: record.entitled_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() > 40);
        assert_ne!(a, new_token());
        assert_eq!(hash_token(&a), hash_token(&a));
    }

    #[test]
    fn password_hash_verifies() {
        let cost = PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        };
        let phc = hash_password("correct horse battery", cost).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong password!", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn lockout_after_repeated_failures() {
        let l = SignInLimiter::default();
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..ACCOUNT_MAX_FAILURES - 1 {
            l.record_failure("a@x", ip);
            assert!(l.check("a@x", ip).is_ok());
        }
        l.record_failure("a@x", ip);
        assert!(matches!(l.check("a@x", ip), Err(AppError::LockedOut)));
        // Another account from the same IP is not locked yet.
        assert!(l.check("b@x", ip).is_ok());
    }
}
