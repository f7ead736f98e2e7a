//! Media messages: image, video, audio (and voice notes), document, sticker.
//!
//! Every media object names its file either by the id returned from `POST /{phone}/media` or by
//! a public `link` Meta fetches itself; [`MediaSource`] makes that an either/or instead of two
//! optional strings. The per-kind structs then carry only what Meta accepts for that kind:
//! `caption` on image, video and document, `filename` on document, `voice` on audio.

use serde::{Deserialize, Serialize};

/// Where Meta gets the file: an uploaded media id or an HTTP(S) URL.
///
/// Serialized inline as `"id": …` or `"link": …` next to the other members of the media object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaSource {
    /// A media id from the upload endpoint (valid 30 days for business uploads).
    Id(String),
    /// A public URL Meta downloads (cached by Meta for about 10 minutes per identical URL).
    Link(String),
}

/// Generates a media struct with `id`/`link` constructors and the listed optional setters.
macro_rules! media {
    (
        $(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $field:ident : $fty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// The file: uploaded media id or link.
            #[serde(flatten)]
            pub source: MediaSource,
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$fty>,
            )*
        }

        impl $name {
            /// Names the file by a media id from the upload endpoint.
            pub fn id(id: impl Into<String>) -> Self {
                Self::from_source(MediaSource::Id(id.into()))
            }

            /// Names the file by a public HTTP(S) URL.
            pub fn link(url: impl Into<String>) -> Self {
                Self::from_source(MediaSource::Link(url.into()))
            }

            /// Names the file by `source`, with no optional member set.
            pub fn from_source(source: MediaSource) -> Self {
                Self { source, $( $field: None, )* }
            }
        }
    };
}

media!(
    /// An image (JPEG or PNG, up to 5 MB).
    Image {
        /// Caption shown under the image.
        caption: String,
    }
);
media!(
    /// A video (MP4 or 3GPP, H.264 + AAC, up to 16 MB).
    Video {
        /// Caption shown under the video.
        caption: String,
    }
);
media!(
    /// An audio file or, with `voice: true`, a voice note (OGG with the Opus codec).
    Audio {
        /// `true` marks a recorded voice note: WhatsApp shows it with the voice-note player and
        /// reports `played` statuses for it.
        voice: bool,
    }
);
media!(
    /// A document (any type, up to 100 MB).
    Document {
        /// Caption shown under the document.
        caption: String,
        /// File name shown to the recipient (and used for the icon).
        filename: String,
    }
);
media!(
    /// A sticker (WebP; 100 KB static, 500 KB animated).
    Sticker {}
);

impl Image {
    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }
}

impl Video {
    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }
}

impl Audio {
    /// Sets `voice` explicitly: `true` sends the audio as a voice note.
    pub fn voice(mut self, voice: bool) -> Self {
        self.voice = Some(voice);
        self
    }
}

impl Document {
    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the file name shown to the recipient.
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }
}
