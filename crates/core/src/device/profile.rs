//! The number's public WhatsApp business profile: read, and update with Meta's limits checked
//! first, so that the user hears what is wrong with each field before any call is made.
//!
//! The profile photo is not offered: it needs a handle from Meta's Resumable Upload API
//! (`POST /{app-id}/uploads`), which neither the cloud-api client nor the simulator implement
//! yet (CLOUD-API-NOTES "Not covered").

use cloud_api::account::{BusinessProfile, BusinessProfileUpdate, VERTICALS};
use serde::{Deserialize, Serialize};

use super::{Device, DeviceError};

/// Meta's limits (characters).
pub const ABOUT_MAX: usize = 139;
pub const ADDRESS_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 512;
pub const EMAIL_MAX: usize = 128;
pub const WEBSITE_MAX: usize = 256;
pub const WEBSITES_MAX: usize = 2;

/// The profile as Settings shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BusinessProfileView {
    pub phone_number_id: String,
    pub about: Option<String>,
    pub address: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub websites: Vec<String>,
    pub vertical: Option<String>,
    pub profile_picture_url: Option<String>,
    /// The categories Meta accepts for `vertical`.
    pub verticals: Vec<String>,
}

/// The fields to change; `None` leaves a field as it is, an empty text clears it (except
/// `about`, which Meta requires to be non-empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdate {
    pub about: Option<String>,
    pub address: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    /// Replaces the list (at most two http(s) URLs).
    pub websites: Option<Vec<String>>,
    pub vertical: Option<String>,
}

impl ProfileUpdate {
    /// Every field's problem, as `field: what is wrong` (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut limit = |field: &str, value: &Option<String>, max: usize| {
            if let Some(v) = value {
                let n = v.chars().count();
                if n > max {
                    out.push(format!("{field}: at most {max} characters ({n} now)"));
                }
            }
        };
        limit("about", &self.about, ABOUT_MAX);
        limit("address", &self.address, ADDRESS_MAX);
        limit("description", &self.description, DESCRIPTION_MAX);
        limit("email", &self.email, EMAIL_MAX);
        if self.about.as_deref().is_some_and(|a| a.trim().is_empty()) {
            out.push("about: must not be empty".into());
        }
        if let Some(email) = self.email.as_deref().filter(|e| !e.is_empty()) {
            let valid = email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if !valid || email.contains(char::is_whitespace) {
                out.push(format!("email: {email:?} is not an email address"));
            }
        }
        if let Some(sites) = &self.websites {
            if sites.len() > WEBSITES_MAX {
                out.push(format!("websites: at most {WEBSITES_MAX}"));
            }
            for site in sites {
                let ok = url::Url::parse(site)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
                if !ok {
                    out.push(format!("websites: {site:?} is not an http(s) address"));
                } else if site.chars().count() > WEBSITE_MAX {
                    out.push(format!("websites: at most {WEBSITE_MAX} characters each"));
                }
            }
        }
        if let Some(v) = self.vertical.as_deref().filter(|v| !v.is_empty()) {
            if !VERTICALS.contains(&v) {
                out.push(format!("vertical: {v:?} is not one of Meta's categories"));
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Device {
    /// The Graph client with the number's token.
    async fn number_graph(
        &self,
        phone_number_id: Option<&str>,
    ) -> Result<(String, cloud_api::client::CloudApiClient), DeviceError> {
        let session = self.session().await?;
        let numbers = self.numbers(&session.account.workspace_id).await?;
        let phone = match phone_number_id {
            Some(id) => {
                numbers
                    .into_iter()
                    .find(|n| n.id == id)
                    .ok_or_else(|| {
                        DeviceError::NotFound(format!("the number {id} is not connected"))
                    })?
                    .id
            }
            None => {
                numbers
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        DeviceError::InvalidInput("connect a WhatsApp number first".into())
                    })?
                    .id
            }
        };
        let token = self.number_token(&phone)?.ok_or_else(|| {
            DeviceError::InvalidInput(
                "no WhatsApp token for this number on this device: connect WhatsApp".into(),
            )
        })?;
        Ok((phone, self.graph().await?.with_token(token.as_str())))
    }

    /// Sets the number's profile photo from an image file (JPEG or PNG, at most 5 MB, checked
    /// from its bytes): uploaded through Meta's Resumable Upload API, then set as the profile's
    /// `profile_picture_handle`. Returns the profile as Meta now has it.
    pub async fn set_profile_photo(
        &self,
        phone_number_id: Option<&str>,
        path: &std::path::Path,
    ) -> Result<BusinessProfileView, DeviceError> {
        self.acting_manager().await?;
        let (name, mime, bytes) = super::uploads::read_checked(
            path,
            super::uploads::PROFILE_PHOTO_TYPES,
            super::uploads::PROFILE_PHOTO_MAX_BYTES,
            "a profile photo",
        )
        .await?;
        let (phone, graph) = self.number_graph(phone_number_id).await?;
        let handle = self.upload_asset(&graph, &name, &mime, bytes).await?;
        let body = BusinessProfileUpdate {
            profile_picture_handle: Some(handle),
            ..BusinessProfileUpdate::default()
        };
        self.send_profile(&graph, &phone, &body).await
    }

    /// The number's business profile, from Meta (the first number when `None`).
    pub async fn business_profile(
        &self,
        phone_number_id: Option<&str>,
    ) -> Result<BusinessProfileView, DeviceError> {
        let (phone, graph) = self.number_graph(phone_number_id).await?;
        let p: BusinessProfile = graph
            .business_profile(&phone)
            .await
            .map_err(|e| DeviceError::Meta(e.to_string()))?;
        Ok(BusinessProfileView {
            phone_number_id: phone,
            about: p.about,
            address: p.address,
            description: p.description,
            email: p.email,
            websites: p.websites,
            vertical: p.vertical,
            profile_picture_url: p.profile_picture_url,
            verticals: VERTICALS.iter().map(|v| (*v).to_string()).collect(),
        })
    }

    /// Checks the update against Meta's limits, sends it, and returns the profile as Meta
    /// now has it.
    pub async fn update_business_profile(
        &self,
        phone_number_id: Option<&str>,
        update: ProfileUpdate,
    ) -> Result<BusinessProfileView, DeviceError> {
        self.acting_manager().await?;
        let problems = update.problems();
        if !problems.is_empty() {
            return Err(DeviceError::InvalidInput(problems.join("; ")));
        }
        if update.is_empty() {
            return Err(DeviceError::InvalidInput("nothing to change".into()));
        }
        let (phone, graph) = self.number_graph(phone_number_id).await?;
        let body = BusinessProfileUpdate {
            about: update.about.map(|s| s.trim().to_string()),
            address: update.address,
            description: update.description,
            email: update.email,
            websites: update.websites,
            vertical: update.vertical,
            ..BusinessProfileUpdate::default()
        };
        self.send_profile(&graph, &phone, &body).await
    }

    /// Sends a profile change and returns the profile as Meta now has it.
    async fn send_profile(
        &self,
        graph: &cloud_api::client::CloudApiClient,
        phone: &str,
        body: &BusinessProfileUpdate,
    ) -> Result<BusinessProfileView, DeviceError> {
        graph
            .update_business_profile(phone, body)
            .await
            .map_err(|e| DeviceError::Meta(e.to_string()))?;
        self.business_profile(Some(phone)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_per_field() {
        let ok = ProfileUpdate {
            about: Some("a".repeat(ABOUT_MAX)),
            email: Some("ana@panaderia.example".into()),
            websites: Some(vec!["https://panaderia.example".into()]),
            vertical: Some("RESTAURANT".into()),
            ..ProfileUpdate::default()
        };
        assert!(ok.problems().is_empty(), "{:?}", ok.problems());
        let bad = ProfileUpdate {
            about: Some("a".repeat(ABOUT_MAX + 1)),
            description: Some("d".repeat(DESCRIPTION_MAX + 1)),
            email: Some("not-an-email".into()),
            websites: Some(vec![
                "https://a.example".into(),
                "ftp://b.example".into(),
                "https://c.example".into(),
            ]),
            vertical: Some("BAKERY".into()),
            ..ProfileUpdate::default()
        };
        let problems = bad.problems().join("\n");
        for field in [
            "about:",
            "description:",
            "email:",
            "websites: at most 2",
            "ftp://",
            "vertical:",
        ] {
            assert!(problems.contains(field), "{field} missing in {problems}");
        }
        let blank = ProfileUpdate {
            about: Some("  ".into()),
            ..ProfileUpdate::default()
        };
        assert_eq!(blank.problems(), ["about: must not be empty"]);
    }
}
