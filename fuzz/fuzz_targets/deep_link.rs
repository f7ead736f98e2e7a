//! `dataoptix://` deep links come from outside the app (a browser, a chat message, a file).
//! `DeepLink::parse` must refuse anything that is not exactly a known shape with an error, and
//! what it accepts must satisfy the shape's rules and round-trip: the link written back from the
//! parsed value parses to the same value. The invitation secret never shows in `Debug`.
#![no_main]

use dataoptix_core::device::{DeepLink, LinkError};
use libfuzzer_sys::fuzz_target;
use url::form_urlencoded;
use url::Url;

fn is_token(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The canonical text of a parsed link.
fn write(link: &DeepLink) -> String {
    match link {
        DeepLink::OnboardingComplete { session_id } => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("session", session_id)
                .finish();
            format!("dataoptix://onboarding/complete?{query}")
        }
        DeepLink::Join {
            relay_url,
            invitation_id,
            secret,
        } => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("relay", relay_url)
                .append_pair("invitation", invitation_id)
                .finish();
            format!("dataoptix://join?{query}#{secret}")
        }
    }
}

fuzz_target!(|text: &str| {
    let link = match DeepLink::parse(text) {
        Ok(link) => link,
        Err(LinkError::Unknown(what)) => {
            assert!(what.chars().count() <= 64, "an unbounded error message");
            return;
        }
        Err(LinkError::WrongScheme(scheme)) => {
            assert!(scheme.chars().count() <= 32, "an unbounded error message");
            return;
        }
        Err(LinkError::NotALink | LinkError::Malformed(_)) => return,
    };
    match &link {
        DeepLink::OnboardingComplete { session_id } => {
            assert!((16..=128).contains(&session_id.len()) && is_token(session_id));
        }
        DeepLink::Join {
            relay_url,
            invitation_id,
            secret,
        } => {
            assert!(secret.len() == 43 && is_token(secret));
            assert!(uuid::Uuid::parse_str(invitation_id).is_ok());
            let relay = Url::parse(relay_url).expect("an accepted relay is a URL");
            assert!(
                matches!(relay.scheme(), "https" | "http"),
                "relay scheme {}",
                relay.scheme()
            );
            assert!(relay.query().is_none() && relay.fragment().is_none());
            assert!(relay.username().is_empty() && relay.password().is_none());
            // (Unless the relay address happens to contain the same characters.)
            assert!(
                relay_url.contains(secret.as_str())
                    || !format!("{link:?}").contains(secret.as_str()),
                "the invitation secret shows in Debug"
            );
        }
    }
    let written = write(&link);
    assert_eq!(
        DeepLink::parse(&written),
        Ok(link),
        "the link written back ({written:?}) parses differently"
    );
});
