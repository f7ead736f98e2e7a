//! Files for Meta's Resumable Upload API: a template's media header sample and the business
//! profile photo. Meta takes a handle to an uploaded asset, not a media id, for both; the
//! upload names the Meta app, whose id the relay's `/v1/config` gives.

use std::path::Path;

use super::{Device, DeviceError};

/// What a media template header takes as its sample, by header format (Meta: JPEG or PNG
/// images, MP4 videos, PDF documents; 5 MB, 16 MB and 100 MB).
pub fn header_sample_types(format: &str) -> Option<(&'static [&'static str], u64)> {
    const MB: u64 = 1024 * 1024;
    match format.to_ascii_uppercase().as_str() {
        "IMAGE" => Some((&["image/jpeg", "image/png"], 5 * MB)),
        "VIDEO" => Some((&["video/mp4"], 16 * MB)),
        "DOCUMENT" => Some((&["application/pdf"], 100 * MB)),
        _ => None,
    }
}

/// An uploaded media header sample: the handle the template's header example takes, and the
/// file's name to show beside it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct HeaderSample {
    /// Meta's asset handle (`4::…`).
    pub handle: String,
    /// The file's name.
    pub file_name: String,
}

/// The profile photo: a JPEG or PNG of at most 5 MB.
pub const PROFILE_PHOTO_TYPES: &[&str] = &["image/jpeg", "image/png"];
/// The profile photo's size limit.
pub const PROFILE_PHOTO_MAX_BYTES: u64 = 5 * 1024 * 1024;

/// Reads `path` and checks, from its bytes (never its name), that it is one of `types` and at
/// most `max_bytes`: the file's name and its bytes as Meta should see them.
pub(crate) async fn read_checked(
    path: &Path,
    types: &[&str],
    max_bytes: u64,
    what: &str,
) -> Result<(String, String, Vec<u8>), DeviceError> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| DeviceError::InvalidInput(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > max_bytes {
        return Err(DeviceError::InvalidInput(format!(
            "{what} may be at most {} (this file is {})",
            crate::send::attachment::human_size(max_bytes),
            crate::send::attachment::human_size(size)
        )));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| DeviceError::InvalidInput(format!("cannot read {}: {e}", path.display())))?;
    if bytes.is_empty() {
        return Err(DeviceError::InvalidInput("the file is empty".into()));
    }
    let mime = infer::get(&bytes)
        .map(|t| t.mime_type())
        .unwrap_or("unknown");
    if !types.contains(&mime) {
        return Err(DeviceError::InvalidInput(format!(
            "{what} must be {} (this file is {mime})",
            types.join(" or ")
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    Ok((name, mime.to_owned(), bytes))
}

impl Device {
    /// Uploads a file through Meta's Resumable Upload API with `graph` (which holds a business
    /// token) and returns the asset handle.
    pub(crate) async fn upload_asset(
        &self,
        graph: &cloud_api::client::CloudApiClient,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<String, DeviceError> {
        let session = self.session().await?;
        let config = session
            .client
            .device_config()
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        let app_id = config.app_id.ok_or_else(|| {
            DeviceError::Conflict(
                "the relay does not name its Meta app (meta_app_id), which uploads need".into(),
            )
        })?;
        graph
            .resumable_upload(&app_id, file_name, mime, bytes.into())
            .await
            .map_err(|e| DeviceError::Meta(e.to_string()))
    }
}
