//! Settings: a TOML file, every key overridable by a `DATAOPTIX_RELAY_<KEY>` environment
//! variable (environment wins, so secrets need not sit in the file). Missing secrets fail at
//! start with one message naming all of them, instead of a relay that rejects every webhook.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ipnet::IpNet;
use serde::Deserialize;

/// Prefix of the environment variables.
pub const ENV_PREFIX: &str = "DATAOPTIX_RELAY_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid relay TOML: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("missing required secrets: {0} (set them in the config file or the environment)")]
    MissingSecrets(String),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// A secret string: never printed by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The relay's 256-bit master key (base64 in config). Held-event and invalid-body keys are
/// derived from it; it never goes into the database.
#[derive(Clone)]
pub struct EncryptionKey(pub(crate) [u8; 32]);

impl EncryptionKey {
    pub fn from_base64(s: &str) -> Result<Self, ConfigError> {
        let bytes = STANDARD
            .decode(s.trim())
            .map_err(|_| ConfigError::Invalid {
                key: "encryption_key",
                reason: "not base64".into(),
            })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| ConfigError::Invalid {
            key: "encryption_key",
            reason: "must be 32 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
                .into(),
        })?;
        Ok(Self(arr))
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

/// Argon2id cost. The defaults are OWASP's (19 MiB, 2 passes); tests lower them.
#[derive(Debug, Clone, Copy)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The relay's public HTTPS origin (for the onboarding page, later).
    pub public_origin: Option<String>,
    pub data_dir: PathBuf,
    pub retention_days: u32,
    pub meta_app_id: Option<String>,
    pub meta_app_secret: Secret,
    pub meta_verify_token: Secret,
    pub meta_config_id: Option<String>,
    pub graph_base_url: String,
    pub graph_version: String,
    pub sdk_url: Option<String>,
    pub encryption_key: EncryptionKey,
    pub password_hashing: PasswordHashing,
    /// How long an onboarding session (Embedded Signup page) stays usable: 30 minutes (tests
    /// shorten it).
    pub onboarding_ttl: time::Duration,
    /// Inbound media fetches: delay before the first retry, doubling after each failure
    /// (30 s; tests shorten it).
    pub media_retry_base: std::time::Duration,
    /// Inbound media fetches: attempts before the relay gives up (6).
    pub media_max_attempts: u32,
    /// Serve HTTPS itself (rustls) with these PEM files; without them, plain HTTP behind a
    /// TLS-terminating reverse proxy (deploy/Caddyfile).
    pub tls: Option<TlsFiles>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges). Behind
    /// a proxy every request comes from the proxy's address: without this, the per-address
    /// sign-in limit would lock out everyone at once. Empty: the peer address is the client's.
    pub trusted_proxies: Vec<IpNet>,
}

/// `"127.0.0.1, 10.0.0.0/8 ::1"`: addresses (one host) and CIDR ranges, separated by commas or
/// spaces.
fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, ConfigError> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    key: "trusted_proxies",
                    reason: format!("{s:?} is not an address or a CIDR range like 10.0.0.0/8"),
                })
        })
        .collect()
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Default first retry delay of a failed media fetch.
pub const MEDIA_RETRY_BASE: std::time::Duration = std::time::Duration::from_secs(30);
/// Default attempts of a media fetch.
pub const MEDIA_MAX_ATTEMPTS: u32 = 6;

/// Default lifetime of an onboarding session.
pub const ONBOARDING_TTL: time::Duration = time::Duration::minutes(30);

/// The file's shape: everything optional, so the environment can fill any gap.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    public_origin: Option<String>,
    data_dir: Option<String>,
    retention_days: Option<u32>,
    meta_app_id: Option<String>,
    meta_app_secret: Option<String>,
    meta_verify_token: Option<String>,
    meta_config_id: Option<String>,
    graph_base_url: Option<String>,
    graph_version: Option<String>,
    sdk_url: Option<String>,
    encryption_key: Option<String>,
    password_hash_memory_kib: Option<u32>,
    password_hash_iterations: Option<u32>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    trusted_proxies: Option<String>,
}

impl Config {
    /// Reads `path` (if given) and applies the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_owned(),
                source,
            })?,
            None => String::new(),
        };
        let raw: RawConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.map(Path::to_owned).unwrap_or_default(),
            source: Box::new(source),
        })?;
        Self::from_raw(raw, |key| std::env::var(format!("{ENV_PREFIX}{key}")).ok())
    }

    /// Parses TOML text with the given environment lookup (tests pass a map, not the process).
    pub fn from_toml_with_env(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::new(),
            source: Box::new(source),
        })?;
        Self::from_raw(raw, env)
    }

    fn from_raw(
        mut raw: RawConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        fn over(slot: &mut Option<String>, env: &dyn Fn(&str) -> Option<String>, key: &str) {
            if let Some(v) = env(key) {
                *slot = Some(v);
            }
        }
        fn over_num(
            slot: &mut Option<u32>,
            env: &dyn Fn(&str) -> Option<String>,
            key: &'static str,
        ) -> Result<(), ConfigError> {
            if let Some(v) = env(key) {
                *slot = Some(v.trim().parse().map_err(|_| ConfigError::Invalid {
                    key,
                    reason: format!("{ENV_PREFIX}{key} is not a whole number"),
                })?);
            }
            Ok(())
        }
        let env: &dyn Fn(&str) -> Option<String> = &env;
        over(&mut raw.listen, env, "LISTEN");
        over(&mut raw.public_origin, env, "PUBLIC_ORIGIN");
        over(&mut raw.data_dir, env, "DATA_DIR");
        over_num(&mut raw.retention_days, env, "RETENTION_DAYS")?;
        over(&mut raw.meta_app_id, env, "META_APP_ID");
        over(&mut raw.meta_app_secret, env, "META_APP_SECRET");
        over(&mut raw.meta_verify_token, env, "META_VERIFY_TOKEN");
        over(&mut raw.meta_config_id, env, "META_CONFIG_ID");
        over(&mut raw.graph_base_url, env, "GRAPH_BASE_URL");
        over(&mut raw.graph_version, env, "GRAPH_VERSION");
        over(&mut raw.sdk_url, env, "SDK_URL");
        over(&mut raw.encryption_key, env, "ENCRYPTION_KEY");
        over(&mut raw.tls_cert, env, "TLS_CERT");
        over(&mut raw.tls_key, env, "TLS_KEY");
        over(&mut raw.trusted_proxies, env, "TRUSTED_PROXIES");
        over_num(
            &mut raw.password_hash_memory_kib,
            env,
            "PASSWORD_HASH_MEMORY_KIB",
        )?;
        over_num(
            &mut raw.password_hash_iterations,
            env,
            "PASSWORD_HASH_ITERATIONS",
        )?;

        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let app_secret = nonempty(raw.meta_app_secret);
        let verify_token = nonempty(raw.meta_verify_token);
        let encryption_key = nonempty(raw.encryption_key);
        let mut missing = Vec::new();
        for (present, key) in [
            (app_secret.is_some(), "meta_app_secret"),
            (verify_token.is_some(), "meta_verify_token"),
            (encryption_key.is_some(), "encryption_key"),
        ] {
            if !present {
                missing.push(format!("{key} ({ENV_PREFIX}{})", key.to_uppercase()));
            }
        }
        let (Some(app_secret), Some(verify_token), Some(encryption_key)) =
            (app_secret, verify_token, encryption_key)
        else {
            return Err(ConfigError::MissingSecrets(missing.join(", ")));
        };

        let listen = raw.listen.as_deref().unwrap_or("127.0.0.1:8787");
        let listen = listen.parse().map_err(|_| ConfigError::Invalid {
            key: "listen",
            reason: format!("{listen:?} is not an address like 127.0.0.1:8787"),
        })?;
        let tls = match (nonempty(raw.tls_cert), nonempty(raw.tls_key)) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid {
                    key: "tls_cert",
                    reason: "tls_cert and tls_key go together: set both (HTTPS) or neither \
                             (HTTP behind a reverse proxy)"
                        .into(),
                })
            }
        };
        let defaults = PasswordHashing::default();
        let password_hashing = PasswordHashing {
            memory_kib: raw.password_hash_memory_kib.unwrap_or(defaults.memory_kib),
            iterations: raw.password_hash_iterations.unwrap_or(defaults.iterations),
        };
        if password_hashing.memory_kib < 64 || password_hashing.iterations == 0 {
            return Err(ConfigError::Invalid {
                key: "password_hash_memory_kib",
                reason: "at least 64 KiB and 1 iteration".into(),
            });
        }
        let trusted_proxies = parse_trusted_proxies(raw.trusted_proxies.as_deref().unwrap_or(""))?;
        Ok(Config {
            listen,
            public_origin: raw.public_origin,
            data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| "./relay-data".into())),
            retention_days: raw.retention_days.unwrap_or(30),
            meta_app_id: raw.meta_app_id,
            meta_app_secret: Secret::new(app_secret),
            meta_verify_token: Secret::new(verify_token),
            meta_config_id: raw.meta_config_id,
            graph_base_url: raw
                .graph_base_url
                .unwrap_or_else(|| "https://graph.facebook.com".into()),
            graph_version: raw.graph_version.unwrap_or_else(|| "v23.0".into()),
            sdk_url: raw.sdk_url,
            encryption_key: EncryptionKey::from_base64(&encryption_key)?,
            password_hashing,
            onboarding_ttl: ONBOARDING_TTL,
            media_retry_base: MEDIA_RETRY_BASE,
            media_max_attempts: MEDIA_MAX_ATTEMPTS,
            tls,
            trusted_proxies,
        })
    }

    /// A complete configuration for tests: data in `data_dir`, cheap password hashing.
    pub fn for_tests(data_dir: &Path, app_secret: &str) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_origin: None,
            data_dir: data_dir.to_owned(),
            retention_days: 30,
            meta_app_id: Some("test-app".into()),
            meta_app_secret: Secret::new(app_secret),
            meta_verify_token: Secret::new("test-verify-token"),
            meta_config_id: None,
            graph_base_url: "http://127.0.0.1:1".into(),
            graph_version: "v23.0".into(),
            sdk_url: None,
            encryption_key: EncryptionKey([7; 32]),
            password_hashing: PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            },
            onboarding_ttl: ONBOARDING_TTL,
            media_retry_base: MEDIA_RETRY_BASE,
            media_max_attempts: MEDIA_MAX_ATTEMPTS,
            tls: None,
            trusted_proxies: Vec::new(),
        }
    }

    pub fn retention(&self) -> time::Duration {
        time::Duration::days(i64::from(self.retention_days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_secrets_are_all_named() {
        let err = Config::from_toml_with_env("listen = \"127.0.0.1:9000\"", env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("meta_app_secret (DATAOPTIX_RELAY_META_APP_SECRET)"),
            "{msg}"
        );
        assert!(msg.contains("meta_verify_token"), "{msg}");
        assert!(msg.contains("encryption_key"), "{msg}");
    }

    #[test]
    fn environment_overrides_the_file_and_secrets_are_redacted() {
        let toml = format!(
            "meta_app_secret = \"file\"\nmeta_verify_token = \"vt\"\nencryption_key = \"{KEY}\"\nretention_days = 7"
        );
        let cfg = Config::from_toml_with_env(
            &toml,
            env(&[("META_APP_SECRET", "from-env"), ("RETENTION_DAYS", "3")]),
        )
        .unwrap();
        assert_eq!(cfg.meta_app_secret.expose(), "from-env");
        assert_eq!(cfg.retention_days, 3);
        assert_eq!(cfg.listen.port(), 8787);
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("from-env") && !dbg.contains("vt\""), "{dbg}");
    }

    #[test]
    fn the_example_file_parses_with_secrets_from_the_environment() {
        let text = include_str!("../relay.example.toml");
        let cfg = Config::from_toml_with_env(
            text,
            env(&[
                ("META_APP_SECRET", "s"),
                ("META_VERIFY_TOKEN", "v"),
                ("ENCRYPTION_KEY", KEY),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.retention_days, 30);
        assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/dataoptix-relay"));
    }

    #[test]
    fn bad_values_are_explained() {
        let toml =
            "meta_app_secret = \"s\"\nmeta_verify_token = \"v\"\nencryption_key = \"c2hvcnQ=\"";
        let err = Config::from_toml_with_env(toml, env(&[])).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
        let err = Config::from_toml_with_env("bogus = 1", env(&[])).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let toml = format!(
            "meta_app_secret = \"s\"\nmeta_verify_token = \"vt\"\nencryption_key = \"{KEY}\""
        );
        let c = Config::from_toml_with_env(
            &toml,
            env(&[("TRUSTED_PROXIES", "127.0.0.1, ::1 10.0.0.0/8")]),
        )
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[2].contains(&"10.20.30.40".parse::<std::net::IpAddr>().unwrap()));
        let e = Config::from_toml_with_env(&toml, env(&[("TRUSTED_PROXIES", "proxy.local")]))
            .unwrap_err();
        assert!(e.to_string().contains("trusted_proxies"), "{e}");
    }
}
