//! Connecting a WhatsApp number: Embedded Signup through the relay's page (with the
//! `dataoptix://onboarding/complete` deep link back), or manual setup with a system-user token.
//!
//! The business token never touches the database: it arrives sealed to the workspace key
//! (Embedded Signup) or typed by the user (manual setup), and is kept sealed in the vault under
//! `team::token_record`.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use cloud_api::client::{ClientConfig, CloudApiClient};
use protocol::onboarding::OnboardingStatus;

use super::{account::GRAPH_SETTING, Device, DeviceError, DeviceEvent, PhoneNumberView};

/// Store setting: the onboarding sessions this device started, `[[id, expires_at], …]`.
const ONBOARDING_SETTING: &str = "onboarding_sessions";

/// An Embedded Signup session this device started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OnboardingStart {
    pub session_id: String,
    /// The relay's onboarding page, to open in the system browser.
    pub url: String,
}

/// Where an onboarding session stands, for the "Connect WhatsApp" screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum OnboardingOutcome {
    /// Still in the browser, or the relay is talking to Meta.
    Waiting,
    /// Done: the number is connected.
    Connected { number: PhoneNumberView },
    /// The user left Embedded Signup.
    Cancelled {
        step: Option<String>,
        explanation: String,
    },
    /// Meta or the relay reported an error.
    #[serde(rename_all = "camelCase")]
    Failed {
        code: String,
        meta_code: Option<String>,
        explanation: String,
    },
}

/// Manual setup: ids and a system-user token from Meta's Business Manager.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ManualSetupInput {
    pub waba_id: String,
    pub phone_number_id: String,
    pub token: String,
}

impl std::fmt::Debug for ManualSetupInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualSetupInput")
            .field("waba_id", &self.waba_id)
            .field("phone_number_id", &self.phone_number_id)
            .finish_non_exhaustive()
    }
}

fn numeric_id(value: &str, what: &str) -> Result<String, DeviceError> {
    let v = value.trim();
    if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DeviceError::InvalidInput(format!(
            "{what} is the numeric id shown in WhatsApp Manager"
        )));
    }
    Ok(v.to_owned())
}

impl Device {
    /// Starts Embedded Signup at the relay; the caller opens `url` in the system browser.
    pub async fn start_onboarding(&self) -> Result<OnboardingStart, DeviceError> {
        let session = self.session().await?;
        let created = session
            .client
            .start_onboarding()
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        self.remember_onboarding(&created.session_id, created.expires_at.unix_timestamp())
            .await?;
        Ok(OnboardingStart {
            session_id: created.session_id,
            url: created.url,
        })
    }

    /// Whether `session_id` is an onboarding session this device started (deep links naming
    /// any other session are refused).
    /// Kept in the store, not in memory: the deep link may start the app cold (the browser
    /// finishes after the app was closed), and that new process must still recognise it.
    pub async fn started_onboarding(&self, session_id: &str) -> bool {
        self.onboarding_sessions()
            .await
            .map(|sessions| sessions.iter().any(|(id, _)| id == session_id))
            .unwrap_or(false)
    }

    /// The onboarding sessions this device started that have not expired: (id, expires_at).
    async fn onboarding_sessions(&self) -> Result<Vec<(String, i64)>, DeviceError> {
        let now = super::now();
        Ok(self
            .inner
            .store
            .setting(ONBOARDING_SETTING)
            .await?
            .and_then(|v| serde_json::from_value::<Vec<(String, i64)>>(v).ok())
            .unwrap_or_default()
            .into_iter()
            // A day of grace past the relay's expiry, so a slow browser still lands.
            .filter(|(_, expires_at)| *expires_at + 86_400 > now)
            .collect())
    }

    async fn remember_onboarding(
        &self,
        session_id: &str,
        expires_at: i64,
    ) -> Result<(), DeviceError> {
        let _guard = self.inner.onboarding.lock().await;
        let mut sessions = self.onboarding_sessions().await?;
        sessions.push((session_id.to_owned(), expires_at));
        self.inner
            .store
            .set_setting(ONBOARDING_SETTING, &serde_json::json!(sessions))
            .await?;
        Ok(())
    }

    async fn forget_onboarding(&self, session_id: &str) -> Result<(), DeviceError> {
        let _guard = self.inner.onboarding.lock().await;
        let sessions: Vec<(String, i64)> = self
            .onboarding_sessions()
            .await?
            .into_iter()
            .filter(|(id, _)| id != session_id)
            .collect();
        self.inner
            .store
            .set_setting(ONBOARDING_SETTING, &serde_json::json!(sessions))
            .await?;
        Ok(())
    }

    /// Asks the relay how the session went; on success opens the sealed business token, keeps
    /// it in the vault and records the number.
    pub async fn onboarding_status(
        &self,
        session_id: &str,
    ) -> Result<OnboardingOutcome, DeviceError> {
        if !self.started_onboarding(session_id).await {
            return Err(DeviceError::NotFound(
                "this onboarding session was not started on this device".into(),
            ));
        }
        let session = self.session().await?;
        let result = session
            .client
            .onboarding_result(session_id)
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        match result.status {
            OnboardingStatus::Pending | OnboardingStatus::InProgress => {
                Ok(OnboardingOutcome::Waiting)
            }
            OnboardingStatus::Cancelled => {
                let error = result.error.unwrap_or_default();
                Ok(OnboardingOutcome::Cancelled {
                    explanation: error.explanation.unwrap_or_else(|| {
                        "Embedded Signup was closed before the number was connected.".into()
                    }),
                    step: error.step,
                })
            }
            OnboardingStatus::Failed => {
                let error = result.error.unwrap_or_default();
                Ok(OnboardingOutcome::Failed {
                    explanation: error
                        .explanation
                        .or(error.message)
                        .unwrap_or_else(|| "Connecting the number failed.".into()),
                    code: error.code,
                    meta_code: error.meta_code,
                })
            }
            OnboardingStatus::Done => {
                let (Some(waba_id), Some(phone_number_id), Some(sealed)) =
                    (result.waba_id, result.phone_number_id, result.sealed_token)
                else {
                    return Err(DeviceError::Internal(
                        "the relay reported success without the number or its token".into(),
                    ));
                };
                let envelope = protocol::sealed::from_base64(&sealed)
                    .map_err(|_| DeviceError::Internal("the sealed token is damaged".into()))?;
                let token =
                    Zeroizing::new(protocol::sealed::open(&session.key, &envelope).map_err(
                        |_| DeviceError::Internal("the sealed token does not open".into()),
                    )?);
                let token = std::str::from_utf8(&token)
                    .map_err(|_| DeviceError::Internal("the token is not text".into()))?;
                let number = self
                    .connect_number(
                        &waba_id,
                        &phone_number_id,
                        token,
                        result.display_phone_number,
                    )
                    .await?;
                self.forget_onboarding(session_id).await?;
                Ok(OnboardingOutcome::Connected { number })
            }
        }
    }

    /// Manual setup: checks the token and ids against the Graph API, claims the WABA at the
    /// relay (its webhooks start flowing here) and keeps the token in the vault.
    pub async fn setup_manual(
        &self,
        input: ManualSetupInput,
    ) -> Result<PhoneNumberView, DeviceError> {
        let session = self.session().await?;
        let waba_id = numeric_id(&input.waba_id, "the WhatsApp Business Account id")?;
        let phone_number_id = numeric_id(&input.phone_number_id, "the phone number id")?;
        let token = Zeroizing::new(input.token.trim().to_owned());
        if token.is_empty() {
            return Err(DeviceError::InvalidInput(
                "the access token is required".into(),
            ));
        }
        let graph = self.graph().await?.with_token(token.as_str());
        let number = graph
            .phone_number(
                &phone_number_id,
                Some("id,display_phone_number,verified_name,quality_rating,name_status"),
            )
            .await
            .map_err(|e| match e.meta() {
                Some(meta) => DeviceError::Meta(format!(
                    "Meta refused these details ({}): {}",
                    meta.code,
                    meta.explanation()
                )),
                None => DeviceError::Meta(format!("the Graph API could not be reached: {e}")),
            })?;
        session
            .client
            .claim_waba(&waba_id, &token, Some(&phone_number_id))
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        self.connect_number(
            &waba_id,
            &phone_number_id,
            &token,
            number.display_phone_number,
        )
        .await
    }

    /// Keeps a connected number — token in the vault, row in the store — and hands it to
    /// the workspace's other devices (a `number_connected` event, sealed to the workspace).
    async fn connect_number(
        &self,
        waba_id: &str,
        phone_number_id: &str,
        token: &str,
        display_phone_number: Option<String>,
    ) -> Result<PhoneNumberView, DeviceError> {
        let session = self.session().await?;
        session
            .team
            .publish_number_connected(
                waba_id,
                phone_number_id,
                display_phone_number.as_deref(),
                None,
                token,
            )
            .await
            .map_err(|e| DeviceError::Internal(e.to_string()))?;
        self.emit(DeviceEvent::NumbersChanged);
        self.numbers(&session.account.workspace_id)
            .await?
            .into_iter()
            .find(|n| n.id == phone_number_id)
            .ok_or_else(|| DeviceError::Internal("the number was not recorded".into()))
    }

    /// Whether Meta refused this number's token (connect again).
    pub(crate) async fn reconnect_required(
        &self,
        phone_number_id: &str,
    ) -> Result<bool, DeviceError> {
        Ok(
            crate::team::number_state(&self.inner.store, &self.inner.vault, phone_number_id)
                .await?
                .reconnect_required,
        )
    }

    /// A Graph API client for the relay's configured Graph (no token).
    pub async fn graph(&self) -> Result<CloudApiClient, DeviceError> {
        let setting = self.inner.store.setting(GRAPH_SETTING).await?;
        let mut config = ClientConfig::default();
        if let Some(s) = setting {
            if let Some(base) = s.get("base_url").and_then(|v| v.as_str()) {
                config.base_url = base.to_owned();
            }
            if let Some(version) = s.get("version").and_then(|v| v.as_str()) {
                config.graph_version = version.to_owned();
            }
        }
        CloudApiClient::new(config).map_err(|e| DeviceError::Internal(e.to_string()))
    }

    /// The business token of a number, from the vault.
    pub fn number_token(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<Zeroizing<String>>, DeviceError> {
        Ok(self
            .inner
            .vault
            .get_record(
                &crate::team::token_record(phone_number_id)
                    .map_err(|e| DeviceError::InvalidInput(e.to_string()))?,
            )?
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .map(Zeroizing::new))
    }
}
