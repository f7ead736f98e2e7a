//! Tokens and the two OAuth calls of onboarding: the Embedded Signup code exchange and
//! `debug_token` (CLOUD-API-NOTES.md §2.5, §2.7).
//!
//! Tokens and the app secret are wrapped in types whose `Debug` prints `<redacted>`, so that
//! logging a request, a config or a response can never write a secret into a log file (a promise
//! of the privacy policy, PRODUCT.md "Security promises"). Code that really needs the secret calls
//! `expose()`, which is easy to spot in review.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself: only for building a request header or query.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_string!(
    /// A Graph API access token (business, system-user, user or app token). Opaque: Meta asks
    /// integrators never to parse it or assume a length.
    AccessToken
);

secret_string!(
    /// The Meta app secret. Lives only on the relay (it signs webhooks and exchanges codes).
    AppSecret
);

impl AccessToken {
    /// The app access token `APP_ID|APP_SECRET`, which `debug_token` accepts.
    pub fn app_token(app_id: &str, app_secret: &AppSecret) -> Self {
        Self(format!("{app_id}|{}", app_secret.expose()))
    }
}

/// The query of `GET /{version}/oauth/access_token`: exchanges an Embedded Signup code (30 s
/// lifetime) for a business token. Server side only: it carries the app secret.
#[derive(Clone)]
pub struct CodeExchange {
    pub client_id: String,
    pub client_secret: AppSecret,
    pub code: String,
    /// Only for codes obtained through a manual-dialog redirect: the same `redirect_uri`.
    pub redirect_uri: Option<String>,
}

impl fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeExchange")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("code", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl CodeExchange {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: AppSecret,
        code: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            code: code.into(),
            redirect_uri: None,
        }
    }

    /// The query pairs, in Meta's documented order.
    pub fn query_pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("code", self.code.as_str()),
        ];
        if let Some(uri) = &self.redirect_uri {
            pairs.push(("redirect_uri", uri.as_str()));
        }
        pairs
    }
}

/// The answer to the code exchange. Meta documents only `access_token`; `token_type` and
/// `expires_in` are the standard Graph OAuth extras and may be absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenResponse {
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Seconds until expiry; absent for business tokens that never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /{version}/debug_token?input_token=…` → `{"data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebugTokenResponse {
    pub data: TokenInfo,
}

/// What Meta knows about a token: validity, expiry, scopes and the assets it may touch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    #[serde(
        default,
        deserialize_with = "string_or_number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_id: Option<String>,
    /// `USER`, `SYSTEM_USER`, `APP`, `PAGE`…
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default)]
    pub is_valid: bool,
    /// Unix seconds; `0` means the token never expires (see [`TokenInfo::expires_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_access_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    #[serde(
        default,
        deserialize_with = "string_or_number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub granular_scopes: Vec<GranularScope>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One permission and the asset ids (WABA ids for the WhatsApp scopes) it covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GranularScope {
    pub scope: String,
    /// Meta sends these as strings or as numbers; both become strings.
    #[serde(default, deserialize_with = "strings_or_numbers")]
    pub target_ids: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The scope that lists the WABAs a token may manage.
pub const SCOPE_WHATSAPP_MANAGEMENT: &str = "whatsapp_business_management";
/// The scope that allows sending messages.
pub const SCOPE_WHATSAPP_MESSAGING: &str = "whatsapp_business_messaging";

impl TokenInfo {
    /// When the token expires (Unix seconds), or `None` when it never does.
    pub fn expiry(&self) -> Option<i64> {
        self.expires_at.filter(|&t| t != 0)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The asset ids granted for `scope` (WABA ids for the WhatsApp scopes).
    pub fn target_ids<'a>(&'a self, scope: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.granular_scopes
            .iter()
            .filter(move |g| g.scope == scope)
            .flat_map(|g| g.target_ids.iter().map(String::as_str))
    }

    /// The WABA ids this token may manage (from `whatsapp_business_management`).
    pub fn waba_ids(&self) -> Vec<&str> {
        self.target_ids(SCOPE_WHATSAPP_MANAGEMENT).collect()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(serde_json::Number),
}

impl From<StringOrNumber> for String {
    fn from(v: StringOrNumber) -> Self {
        match v {
            StringOrNumber::String(s) => s,
            StringOrNumber::Number(n) => n.to_string(),
        }
    }
}

fn string_or_number_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<StringOrNumber>::deserialize(d)?.map(String::from))
}

fn strings_or_numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<StringOrNumber>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let token = AccessToken::new("EAAJBsecret");
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
        let ex = CodeExchange::new("123", AppSecret::new("s3cr3t"), "the-code");
        let dbg = format!("{ex:?}");
        assert!(
            !dbg.contains("s3cr3t") && !dbg.contains("the-code"),
            "{dbg}"
        );
        let resp: AccessTokenResponse =
            serde_json::from_str(r#"{"access_token":"EAAJBsecret","token_type":"bearer"}"#)
                .unwrap();
        assert!(!format!("{resp:?}").contains("EAAJBsecret"));
        assert_eq!(resp.access_token.expose(), "EAAJBsecret");
    }

    #[test]
    fn debug_token_accepts_numeric_ids() {
        let body = r#"{"data": {"app_id": "670843887433847", "type": "SYSTEM_USER",
            "application": "DataOptix", "data_access_expires_at": 0, "expires_at": 0,
            "is_valid": true, "issued_at": 1700000000,
            "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
            "granular_scopes": [
              {"scope": "whatsapp_business_management", "target_ids": ["102290129340398", 102290129340399]},
              {"scope": "whatsapp_business_messaging", "target_ids": ["102290129340398"]}],
            "user_id": 7281935}}"#;
        let info = serde_json::from_str::<DebugTokenResponse>(body)
            .unwrap()
            .data;
        assert!(info.is_valid);
        assert_eq!(info.expiry(), None);
        assert_eq!(info.user_id.as_deref(), Some("7281935"));
        assert_eq!(info.waba_ids(), ["102290129340398", "102290129340399"]);
        assert!(info.has_scope(SCOPE_WHATSAPP_MESSAGING));
    }
}
