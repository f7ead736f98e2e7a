//! The header of a template being sent: the image, video or document of a media header, or
//! the place of a location header.
//!
//! A file on this computer is checked against Meta's types and limits here and queued with
//! the message: the outbox uploads it just before the send (`send::upload`), as for any
//! attachment, so a template with a picture can be written offline too. A public `https`
//! address is passed to Meta as it is.

use cloud_api::media::MediaKind;
use cloud_api::messages::{Document, Image, Location, Parameter, Video};
use cloud_api::templates::HeaderFormat;
use serde::{Deserialize, Serialize};

use super::{Device, DeviceError};
use crate::send::{Attachment, UPLOAD_PENDING};

/// What fills a template's media or location header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "source", rename_all = "camelCase")]
pub enum HeaderMediaInput {
    /// A file on this computer, uploaded to Meta by the outbox before the send.
    #[serde(rename_all = "camelCase")]
    File {
        /// The file (from the file picker).
        path: String,
        /// The name shown with a document (default: the file's own name).
        filename: Option<String>,
    },
    /// A public `https` address Meta downloads the file from.
    #[serde(rename_all = "camelCase")]
    Link {
        /// The address.
        url: String,
        /// The name shown with a document.
        filename: Option<String>,
    },
    /// The place of a location header.
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
}

/// The header parameter for `input` under a header of `format`, and the file to upload with
/// the message (its parameter names [`UPLOAD_PENDING`] until the outbox uploads it).
pub(super) async fn header_parameter(
    format: Option<&HeaderFormat>,
    input: HeaderMediaInput,
) -> Result<(Parameter, Option<Attachment>), DeviceError> {
    let invalid = |m: String| DeviceError::InvalidInput(m);
    let Some(format) = format.filter(|f| **f != HeaderFormat::Text) else {
        return Err(invalid(
            "this template's header takes no file or place".into(),
        ));
    };
    match input {
        HeaderMediaInput::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            if *format != HeaderFormat::Location {
                return Err(invalid(format!(
                    "this template's header is {}, not a place",
                    kind_word(format)
                )));
            }
            if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
                return Err(invalid("the place's coordinates are out of range".into()));
            }
            let mut place = Location::new(latitude, longitude);
            if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
                place = place.name(n);
            }
            if let Some(a) = address.filter(|a| !a.trim().is_empty()) {
                place = place.address(a);
            }
            Ok((Parameter::location(place), None))
        }
        HeaderMediaInput::Link { url, filename } => {
            let parsed = url::Url::parse(url.trim())
                .map_err(|_| invalid(format!("{url:?} is not a web address")))?;
            if parsed.scheme() != "https" {
                return Err(invalid(
                    "the header's address must start with https:// (Meta downloads it)".into(),
                ));
            }
            let parameter = media_parameter(format, |kind| match kind {
                MediaKind::Image => Parameter::image(Image::link(parsed.as_str())),
                MediaKind::Video => Parameter::video(Video::link(parsed.as_str())),
                _ => {
                    let doc = Document::link(parsed.as_str());
                    Parameter::document(match filename.filter(|n| !n.trim().is_empty()) {
                        Some(n) => doc.filename(n),
                        None => doc,
                    })
                }
            })?;
            Ok((parameter, None))
        }
        HeaderMediaInput::File { path, filename } => {
            let (file_name, _, bytes) = super::attachments::read_file(&path).await?;
            let bytes = bytes.map_err(invalid)?;
            let filename = filename
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(file_name);
            let attachment =
                Attachment::new(bytes, None, Some(filename.clone()), false).map_err(invalid)?;
            let detected = &attachment.detected;
            // What a header of this format takes, as for its sample when the template was
            // made: JPEG or PNG images, MP4 videos, PDF documents.
            let types = super::uploads::header_sample_types(format.as_str())
                .map(|(types, _)| types)
                .unwrap_or_default();
            if !types.contains(&detected.mime_type.as_str()) {
                return Err(invalid(format!(
                    "this template's header is {} ({}); {filename} is {}",
                    kind_word(format),
                    types.join(" or "),
                    detected.mime_type
                )));
            }
            let parameter = media_parameter(format, |kind| match kind {
                MediaKind::Image => Parameter::image(Image::id(UPLOAD_PENDING)),
                MediaKind::Video => Parameter::video(Video::id(UPLOAD_PENDING)),
                _ => Parameter::document(Document::id(UPLOAD_PENDING).filename(filename)),
            })?;
            Ok((parameter, Some(attachment)))
        }
    }
}

impl Device {
    /// Uploads a header file now (a broadcast's, once for every recipient) and returns the
    /// header parameter naming Meta's id for it instead of the pending upload.
    pub(super) async fn upload_header_file(
        &self,
        phone_number_id: &str,
        file: &Attachment,
        pending: Parameter,
    ) -> Result<Parameter, DeviceError> {
        let token = self.number_token(phone_number_id)?.ok_or_else(|| {
            DeviceError::InvalidInput(
                "no WhatsApp token for this number on this device: connect WhatsApp".into(),
            )
        })?;
        let graph = self.graph().await?.with_token(token.as_str());
        let upload = cloud_api::media::MediaUpload::new(
            file.bytes.to_vec(),
            file.filename.clone().unwrap_or_else(|| "header".into()),
            file.detected.mime_type.clone(),
        );
        let uploaded = graph
            .upload_media(phone_number_id, upload)
            .await
            .map_err(|e| DeviceError::Meta(format!("uploading the header's file failed: {e}")))?;
        with_uploaded_id(pending, &uploaded.id)
    }
}

/// `parameter` (an image, video or document) naming `media_id`.
fn with_uploaded_id(parameter: Parameter, media_id: &str) -> Result<Parameter, DeviceError> {
    let internal = |e: serde_json::Error| DeviceError::Internal(e.to_string());
    let mut v = serde_json::to_value(parameter).map_err(internal)?;
    let kind = v["type"].as_str().unwrap_or_default().to_owned();
    let media = matches!(kind.as_str(), "image" | "video" | "document")
        .then(|| v.get_mut(&kind).and_then(serde_json::Value::as_object_mut))
        .flatten();
    match media {
        Some(media) => {
            media.insert("id".into(), media_id.into());
        }
        None => {
            return Err(DeviceError::Internal(format!(
                "a {kind} header parameter names no file"
            )))
        }
    }
    serde_json::from_value(v).map_err(internal)
}

/// The parameter of a media header, built by `make` from the header's kind.
fn media_parameter(
    format: &HeaderFormat,
    make: impl FnOnce(MediaKind) -> Parameter,
) -> Result<Parameter, DeviceError> {
    let kind = match format {
        HeaderFormat::Image => MediaKind::Image,
        HeaderFormat::Video => MediaKind::Video,
        HeaderFormat::Document => MediaKind::Document,
        other => {
            return Err(DeviceError::InvalidInput(format!(
                "this template's header is {}, not a file",
                kind_word(other)
            )))
        }
    };
    Ok(make(kind))
}

/// "an image", "a place", … for messages.
fn kind_word(format: &HeaderFormat) -> &'static str {
    match format {
        HeaderFormat::Image => "an image",
        HeaderFormat::Video => "a video",
        HeaderFormat::Document => "a document",
        HeaderFormat::Location => "a place",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn link(url: &str) -> HeaderMediaInput {
        HeaderMediaInput::Link {
            url: url.into(),
            filename: Some("menu.pdf".into()),
        }
    }

    #[tokio::test]
    async fn a_link_must_be_https_and_fit_the_header() {
        let (p, file) = header_parameter(
            Some(&HeaderFormat::Document),
            link("https://b.example/menu.pdf"),
        )
        .await
        .unwrap();
        assert!(file.is_none());
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v["document"]["link"], "https://b.example/menu.pdf");
        assert_eq!(v["document"]["filename"], "menu.pdf");
        for (format, url) in [
            (HeaderFormat::Image, "http://b.example/a.jpg"),
            (HeaderFormat::Image, "not a url"),
            (HeaderFormat::Location, "https://b.example/a.jpg"),
            (HeaderFormat::Text, "https://b.example/a.jpg"),
        ] {
            let err = header_parameter(Some(&format), link(url))
                .await
                .unwrap_err();
            assert!(
                matches!(err, DeviceError::InvalidInput(_)),
                "{format:?} {url}"
            );
        }
        assert!(header_parameter(None, link("https://b.example/a.jpg"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_place_fills_only_a_location_header() {
        let place = |lat| HeaderMediaInput::Location {
            latitude: lat,
            longitude: -9.14,
            name: Some("Sweet Crumbs".into()),
            address: Some(" ".into()),
        };
        let (p, _) = header_parameter(Some(&HeaderFormat::Location), place(38.7))
            .await
            .unwrap();
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v["location"]["name"], "Sweet Crumbs");
        assert!(v["location"].get("address").is_none());
        assert!(header_parameter(Some(&HeaderFormat::Location), place(91.0))
            .await
            .is_err());
        assert!(header_parameter(Some(&HeaderFormat::Image), place(38.7))
            .await
            .is_err());
    }

    #[test]
    fn the_uploaded_id_replaces_the_pending_one() {
        let pending = Parameter::document(Document::id(UPLOAD_PENDING).filename("menu.pdf"));
        let v = serde_json::to_value(with_uploaded_id(pending, "9001").unwrap()).unwrap();
        assert_eq!(v["document"]["id"], "9001");
        assert_eq!(v["document"]["filename"], "menu.pdf");
        let place = Parameter::location(Location::new(1.0, 2.0));
        assert!(with_uploaded_id(place, "9001").is_err());
    }

    #[tokio::test]
    async fn a_file_must_be_of_the_headers_kind() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("bread.png");
        std::fs::write(&png, crate::send::attachment::samples::png()).unwrap();
        let input = |path: &std::path::Path| HeaderMediaInput::File {
            path: path.to_string_lossy().into_owned(),
            filename: None,
        };
        let (p, file) = header_parameter(Some(&HeaderFormat::Image), input(&png))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(p).unwrap()["image"]["id"],
            UPLOAD_PENDING
        );
        assert_eq!(file.unwrap().detected.mime_type, "image/png");
        // A document header takes a PDF, named after the file.
        let pdf = dir.path().join("menu.pdf");
        std::fs::write(&pdf, crate::send::attachment::samples::pdf()).unwrap();
        let (p, _) = header_parameter(Some(&HeaderFormat::Document), input(&pdf))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(p).unwrap()["document"]["filename"],
            "menu.pdf"
        );
        for format in [HeaderFormat::Video, HeaderFormat::Document] {
            let err = header_parameter(Some(&format), input(&png))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("image/png"), "{err}");
        }
        let missing = dir.path().join("gone.png");
        assert!(
            header_parameter(Some(&HeaderFormat::Image), input(&missing))
                .await
                .is_err()
        );
    }
}
