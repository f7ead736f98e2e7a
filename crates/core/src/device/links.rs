//! `dataoptix://` deep links, parsed into a closed set. Anything else is refused with a reason.
//!
//! Links come from outside the app (a browser redirect, a chat message, a crafted file), so
//! parsing is strict: the exact scheme, host and path, the expected query keys and nothing
//! else, bounded lengths, and only the characters ids are made of. Whether an onboarding link
//! belongs to a session *this* app started is checked by the caller (it knows the sessions it
//! created); the parser only checks the shape.

use url::Url;

/// Longest link accepted: real ones are < 300 characters.
const MAX_LINK_LEN: usize = 2048;
/// The longest relay address a link may carry: a real origin with a short path prefix is far
/// below it, and it leaves room in MAX_LINK_LEN for the rest of a join link.
const MAX_RELAY_LEN: usize = 512;

/// A deep link the app acts on.
#[derive(Clone, PartialEq, Eq)]
pub enum DeepLink {
    /// `dataoptix://onboarding/complete?session=<id>`: Embedded Signup finished (or stopped);
    /// fetch the result of that session from the relay.
    OnboardingComplete {
        /// The onboarding session id (opaque, base64url).
        session_id: String,
    },
    /// `dataoptix://join?relay=<origin>&invitation=<uuid>#<secret>`: an invitation to a
    /// workspace. The secret travels in the fragment only.
    Join {
        /// The relay's origin (`https://…`, or `http://` for loopback only).
        relay_url: String,
        /// The invitation id.
        invitation_id: String,
        /// The invitation secret (base64url), never logged.
        secret: String,
    },
}

// The invitation secret must never reach a log through `{:?}`.
impl std::fmt::Debug for DeepLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OnboardingComplete { session_id } => f
                .debug_struct("OnboardingComplete")
                .field("session_id", session_id)
                .finish(),
            Self::Join {
                relay_url,
                invitation_id,
                ..
            } => f
                .debug_struct("Join")
                .field("relay_url", relay_url)
                .field("invitation_id", invitation_id)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Why a link was refused (shown to the user, logged without the link itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a URL at all, or too long.
    #[error("not a DataOptix link")]
    NotALink,
    /// Another scheme than `dataoptix:`.
    #[error("not a DataOptix link (scheme {0:?})")]
    WrongScheme(String),
    /// A `dataoptix:` link this version does not know.
    #[error("unknown DataOptix link {0:?}")]
    Unknown(String),
    /// A known link with missing, extra or malformed parts.
    #[error("malformed DataOptix link: {0}")]
    Malformed(&'static str),
}

impl DeepLink {
    /// Parses `link`; refuses everything that is not exactly one of the known shapes.
    pub fn parse(link: &str) -> Result<Self, LinkError> {
        if link.len() > MAX_LINK_LEN {
            return Err(LinkError::NotALink);
        }
        let url = Url::parse(link.trim()).map_err(|_| LinkError::NotALink)?;
        if url.scheme() != "dataoptix" {
            return Err(LinkError::WrongScheme(
                url.scheme().chars().take(32).collect(),
            ));
        }
        if url.username() != "" || url.password().is_some() || url.port().is_some() {
            return Err(LinkError::Malformed("unexpected user, password or port"));
        }
        let host = url.host_str().unwrap_or_default();
        let path = url.path();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        match (host, path) {
            ("onboarding", "/complete") => {
                if url.fragment().is_some() {
                    return Err(LinkError::Malformed("unexpected fragment"));
                }
                let session_id = only_key(&pairs, "session")?;
                if !is_token(&session_id, 16, 128) {
                    return Err(LinkError::Malformed("the session id is not valid"));
                }
                Ok(Self::OnboardingComplete { session_id })
            }
            ("join", "" | "/") => {
                let mut relay = None;
                let mut invitation = None;
                for (k, v) in &pairs {
                    let slot = match k.as_str() {
                        "relay" => &mut relay,
                        "invitation" => &mut invitation,
                        _ => return Err(LinkError::Malformed("unexpected query parameter")),
                    };
                    if slot.replace(v.clone()).is_some() {
                        return Err(LinkError::Malformed("repeated query parameter"));
                    }
                }
                let relay_url = relay.ok_or(LinkError::Malformed("missing relay"))?;
                let relay_url = check_relay(&relay_url)?;
                let invitation_id = invitation.ok_or(LinkError::Malformed("missing invitation"))?;
                if uuid::Uuid::parse_str(&invitation_id).is_err() {
                    return Err(LinkError::Malformed("the invitation id is not valid"));
                }
                let secret = url
                    .fragment()
                    .filter(|s| is_token(s, 43, 43))
                    .ok_or(LinkError::Malformed("missing or invalid invitation secret"))?
                    .to_owned();
                Ok(Self::Join {
                    relay_url,
                    invitation_id,
                    secret,
                })
            }
            _ => Err(LinkError::Unknown(
                format!("{host}{path}").chars().take(64).collect(),
            )),
        }
    }
}

fn only_key(pairs: &[(String, String)], key: &str) -> Result<String, LinkError> {
    match pairs {
        [(k, v)] if k == key => Ok(v.clone()),
        [] => Err(LinkError::Malformed("missing query parameter")),
        _ => Err(LinkError::Malformed("unexpected query parameters")),
    }
}

/// base64url characters only, with a length in `min..=max`.
fn is_token(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `url` may carry passwords, session and business tokens: https, or http to this
/// computer (the demo and tests, where nothing leaves the machine).
pub(crate) fn secure_or_local(url: &Url) -> bool {
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    url.host_str().is_some() && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
}

/// A relay origin: https, or http on a loopback address (the demo and tests).
fn check_relay(relay: &str) -> Result<String, LinkError> {
    let url = Url::parse(relay).map_err(|_| LinkError::Malformed("the relay is not a URL"))?;
    if !secure_or_local(&url) || url.username() != "" || url.password().is_some() {
        return Err(LinkError::Malformed(
            "the relay must be an https:// address (http:// only on this computer)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(LinkError::Malformed("the relay address has extra parts"));
    }
    // A path is allowed (a relay behind a proxy under a prefix), but not control characters
    // hidden in it as %-escapes, and not an address so long that the link could not be
    // written back out within MAX_LINK_LEN (found by fuzzing: fuzz/found/).
    if escapes_a_control_character(url.path()) {
        return Err(LinkError::Malformed(
            "the relay address holds control characters",
        ));
    }
    let relay = url.as_str().trim_end_matches('/');
    if relay.len() > MAX_RELAY_LEN {
        return Err(LinkError::Malformed("the relay address is too long"));
    }
    Ok(relay.to_owned())
}

/// Whether `path` holds a %-escape of a control character (`%00`–`%1F`, `%7F`).
fn escapes_a_control_character(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7f)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    /// Found by fuzzing (fuzz/found/deep_link-relay-grows-past-the-length-limit): a join link
    /// whose relay carries hundreds of NUL bytes was accepted, then could not be written back.
    #[test]
    fn relay_addresses_with_control_characters_or_too_long_are_refused() {
        let join = |relay: &str| {
            let relay: String = url::form_urlencoded::byte_serialize(relay.as_bytes()).collect();
            format!(
                "dataoptix://join?relay={relay}&invitation=6f2b8f0e-6c8d-4a57-9a55-6d0c3a1b2c3d#{SECRET}"
            )
        };
        for relay in [
            format!("https://relay.example.com/{}", "%00".repeat(300)),
            "https://relay.example.com/a%1fb".to_owned(),
            format!("https://relay.example.com/{}", "p".repeat(600)),
        ] {
            assert!(
                DeepLink::parse(&join(&relay)).is_err(),
                "accepted the relay {relay:.60}…"
            );
        }
        // The fuzzer's own input.
        let found =
            include_str!("../../../../fuzz/found/deep_link-relay-grows-past-the-length-limit");
        assert!(DeepLink::parse(found).is_err());
        // A path prefix behind a proxy is fine.
        assert!(DeepLink::parse(&join("https://example.com/dataoptix")).is_ok());
    }

    #[test]
    fn onboarding_links_parse() {
        let link = DeepLink::parse("dataoptix://onboarding/complete?session=abcDEF0123456789_-xy")
            .unwrap();
        assert_eq!(
            link,
            DeepLink::OnboardingComplete {
                session_id: "abcDEF0123456789_-xy".into()
            }
        );
    }

    #[test]
    fn join_links_parse_and_keep_the_secret_out_of_debug() {
        let text = format!(
            "dataoptix://join?relay=https%3A%2F%2Frelay.example.com&invitation=6f2b8f0e-6c8d-4a57-9a55-6d0c3a1b2c3d#{SECRET}"
        );
        let link = DeepLink::parse(&text).unwrap();
        let DeepLink::Join {
            relay_url,
            invitation_id,
            secret,
        } = &link
        else {
            panic!("not a join link: {link:?}");
        };
        assert_eq!(relay_url, "https://relay.example.com");
        assert_eq!(invitation_id, "6f2b8f0e-6c8d-4a57-9a55-6d0c3a1b2c3d");
        assert_eq!(secret, SECRET);
        assert!(!format!("{link:?}").contains(SECRET));
        // Loopback http is fine (demo), a LAN http relay is not.
        let local = text.replace(
            "https%3A%2F%2Frelay.example.com",
            "http%3A%2F%2F127.0.0.1%3A18443",
        );
        assert!(DeepLink::parse(&local).is_ok());
        let lan = text.replace("https%3A%2F%2Frelay.example.com", "http%3A%2F%2F10.0.0.2");
        assert!(matches!(
            DeepLink::parse(&lan),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn everything_else_is_refused() {
        let refused = [
            "",
            "not a url",
            "https://evil.example/onboarding/complete?session=abcdefabcdefabcdef",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "dataoptix://onboarding/complete",
            "dataoptix://onboarding/complete?session=short",
            "dataoptix://onboarding/complete?session=abcdefabcdefabcdef&x=1",
            "dataoptix://onboarding/complete?session=abcdefabcdef%3Cscript%3E",
            "dataoptix://onboarding/complete?session=abcdefabcdefabcdef#frag",
            "dataoptix://onboarding/start?session=abcdefabcdefabcdef",
            "dataoptix://user:pw@onboarding/complete?session=abcdefabcdefabcdef",
            "dataoptix://settings",
            "dataoptix://join?relay=https%3A%2F%2Fr.example&invitation=not-a-uuid#x",
            "dataoptix://join?relay=ftp%3A%2F%2Fr.example&invitation=6f2b8f0e-6c8d-4a57-9a55-6d0c3a1b2c3d#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "dataoptix://join?relay=https%3A%2F%2Fr.example&invitation=6f2b8f0e-6c8d-4a57-9a55-6d0c3a1b2c3d",
        ];
        for link in refused {
            assert!(DeepLink::parse(link).is_err(), "accepted {link:?}");
        }
        let long = format!(
            "dataoptix://onboarding/complete?session={}",
            "a".repeat(MAX_LINK_LEN)
        );
        assert_eq!(DeepLink::parse(&long), Err(LinkError::NotALink));
    }
}
