//! Voice notes recorded in the app: the microphone's samples encoded as OGG/Opus, the only
//! audio WhatsApp plays as a voice note (`voice: true`).
//!
//! Why the encoding happens here and not in the webview: a webview's `MediaRecorder` writes
//! whatever its engine supports (WebM on one platform, MP4/AAC on another), while Meta wants
//! mono OGG/Opus. libopus (statically linked through the `opus` crate) and the `ogg` crate make
//! the same file on every platform, and the encoding is testable without a window.
//!
//! The stream follows RFC 7845: an `OpusHead` page, an `OpusTags` page, then 20 ms packets
//! whose granule positions count 48 kHz samples from the start, including the encoder's
//! look-ahead (`pre_skip`), so a player trims both the look-ahead and the last frame's padding.

use std::io::Cursor;

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// The sample rates Opus encodes without resampling.
pub const SAMPLE_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

/// The longest voice note accepted: at the bit rate used this is about 3.6 MB, far under
/// Meta's 16 MB audio limit, and longer than anyone listens to.
pub const MAX_SECONDS: u32 = 15 * 60;

/// Opus frame length. 20 ms is the codec's sweet spot for speech.
const FRAME_MS: u32 = 20;

/// Bits per second: clear speech, small files.
const BITRATE: i32 = 32_000;

/// Opus timestamps (granule positions, pre-skip) are in 48 kHz samples whatever the input rate.
const GRANULE_RATE: u64 = 48_000;

/// Why a recording cannot become a voice note.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VoiceNoteError {
    /// The samples are at a rate Opus does not encode.
    #[error("a voice note is recorded at 8, 12, 16, 24 or 48 kHz, not {0} Hz")]
    SampleRate(u32),
    /// No samples at all.
    #[error("the recording is empty")]
    Empty,
    /// Longer than [`MAX_SECONDS`].
    #[error("a voice note is at most 15 minutes long")]
    TooLong,
    /// libopus refused (it should not for valid input).
    #[error("the recording could not be encoded: {0}")]
    Encode(String),
}

/// An encoded voice note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceNote {
    /// The OGG/Opus file.
    pub bytes: Vec<u8>,
    /// Its length (of the samples given, not counting padding).
    pub duration_ms: u64,
}

/// Encodes mono 16-bit samples at `sample_rate` (one of [`SAMPLE_RATES`]) as an OGG/Opus
/// voice note.
pub fn encode(samples: &[i16], sample_rate: u32) -> Result<VoiceNote, VoiceNoteError> {
    if !SAMPLE_RATES.contains(&sample_rate) {
        return Err(VoiceNoteError::SampleRate(sample_rate));
    }
    if samples.is_empty() {
        return Err(VoiceNoteError::Empty);
    }
    if samples.len() as u64 > u64::from(MAX_SECONDS) * u64::from(sample_rate) {
        return Err(VoiceNoteError::TooLong);
    }
    let failed = |e: opus::Error| VoiceNoteError::Encode(e.to_string());
    let mut encoder =
        opus::Encoder::new(sample_rate, opus::Channels::Mono, opus::Application::Voip)
            .map_err(failed)?;
    encoder
        .set_bitrate(opus::Bitrate::Bits(BITRATE))
        .map_err(failed)?;
    // Granule positions are in 48 kHz samples: scale everything counted at the input rate.
    let scale = GRANULE_RATE / u64::from(sample_rate);
    let lookahead = u64::try_from(encoder.get_lookahead().map_err(failed)?).unwrap_or(0);
    let pre_skip = lookahead * scale;

    let mut out = Vec::with_capacity(samples.len() / 4);
    let serial: u32 = rand::random();
    {
        let mut writer = PacketWriter::new(Cursor::new(&mut out));
        let io = |e: std::io::Error| VoiceNoteError::Encode(e.to_string());
        writer
            .write_packet(
                opus_head(pre_skip, sample_rate),
                serial,
                PacketWriteEndInfo::EndPage,
                0,
            )
            .map_err(io)?;
        writer
            .write_packet(opus_tags(), serial, PacketWriteEndInfo::EndPage, 0)
            .map_err(io)?;

        let frame = (sample_rate * FRAME_MS / 1000) as usize;
        let frames = samples.len().div_ceil(frame);
        // The end of the real audio; the last frame's padding past it is trimmed by players.
        let end = pre_skip + samples.len() as u64 * scale;
        let mut padded = vec![0i16; frame];
        let mut packet = vec![0u8; 4_000];
        for (i, chunk) in samples.chunks(frame).enumerate() {
            let input = if chunk.len() == frame {
                chunk
            } else {
                padded[..chunk.len()].copy_from_slice(chunk);
                padded[chunk.len()..].fill(0);
                &padded
            };
            let len = encoder.encode(input, &mut packet).map_err(failed)?;
            let last = i + 1 == frames;
            let granule = if last {
                end
            } else {
                pre_skip + ((i + 1) * frame) as u64 * scale
            };
            let info = if last {
                PacketWriteEndInfo::EndStream
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            writer
                .write_packet(packet[..len].to_vec(), serial, info, granule)
                .map_err(io)?;
        }
    }
    Ok(VoiceNote {
        bytes: out,
        duration_ms: samples.len() as u64 * 1000 / u64::from(sample_rate),
    })
}

/// The identification header (RFC 7845 §5.1): version 1, one channel, channel mapping 0.
fn opus_head(pre_skip: u64, input_rate: u32) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(1);
    head.extend_from_slice(&u16::try_from(pre_skip).unwrap_or(u16::MAX).to_le_bytes());
    head.extend_from_slice(&input_rate.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The comment header (RFC 7845 §5.2): who wrote it, no comments.
fn opus_tags() -> Vec<u8> {
    let vendor = concat!("DataOptix ", env!("CARGO_PKG_VERSION"));
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor.as_bytes());
    tags.extend_from_slice(&0u32.to_le_bytes());
    tags
}

/// Little-endian 16-bit samples (what the composer sends) as samples.
pub fn samples_from_le_bytes(bytes: &[u8]) -> Result<Vec<i16>, VoiceNoteError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(VoiceNoteError::Encode(
            "the recording is not whole 16-bit samples".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ogg::reading::PacketReader;

    /// `seconds` of a 440 Hz tone at `rate`.
    fn tone(rate: u32, seconds: f64) -> Vec<i16> {
        let n = (f64::from(rate) * seconds).round() as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect()
    }

    /// Reads the file back: headers, packets decoded at 48 kHz, the final granule position.
    fn decode(bytes: &[u8]) -> (Vec<u8>, Vec<i16>, u64) {
        let mut reader = PacketReader::new(Cursor::new(bytes));
        let head = reader.read_packet_expected().unwrap();
        assert!(head.first_in_stream());
        let tags = reader.read_packet_expected().unwrap();
        assert!(tags.data.starts_with(b"OpusTags"));
        let mut decoder = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = Vec::new();
        let mut buf = vec![0i16; 5_760];
        let mut last_granule = 0;
        while let Some(packet) = reader.read_packet().unwrap() {
            let n = decoder.decode(&packet.data, &mut buf, false).unwrap();
            pcm.extend_from_slice(&buf[..n]);
            last_granule = packet.absgp_page();
            if packet.last_in_stream() {
                break;
            }
        }
        (head.data, pcm, last_granule)
    }

    #[test]
    fn a_recording_becomes_an_ogg_opus_voice_note_that_decodes_to_its_length() {
        for rate in [16_000, 48_000] {
            let samples = tone(rate, 2.01);
            let note = encode(&samples, rate).unwrap();
            assert_eq!(note.duration_ms, 2_010);
            // What the attachment check sees: OGG audio with the Opus codec.
            let detected = crate::send::attachment::detect(&note.bytes).unwrap();
            assert_eq!(detected.mime_type, "audio/ogg");
            assert!(detected.voice_allowed(), "{rate}");
            // ~32 kbit/s: about 8 KB for 2 s (headers and framing add a little).
            assert!(
                (5_000..14_000).contains(&note.bytes.len()),
                "{}",
                note.bytes.len()
            );

            let (head, pcm, granule) = decode(&note.bytes);
            assert_eq!(&head[..8], b"OpusHead");
            assert_eq!(head[9], 1, "mono");
            let pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
            assert!(pre_skip > 0);
            assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), rate);
            // The last page ends exactly at the audio's end (2.01 s at 48 kHz) after pre-skip.
            assert_eq!(granule, pre_skip + 96_480);
            // Decoded: whole 20 ms frames covering the audio.
            assert!(pcm.len() as u64 >= 96_480, "{}", pcm.len());
            assert_eq!(pcm.len() % 960, 0);
            // The tone survives (not silence): RMS of the middle second.
            let mid = &pcm[48_000..96_000];
            let rms =
                (mid.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / mid.len() as f64).sqrt();
            assert!(rms > 3_000.0, "rms {rms}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_a_voice_note() {
        assert_eq!(
            encode(&tone(44_100, 0.1), 44_100),
            Err(VoiceNoteError::SampleRate(44_100))
        );
        assert_eq!(encode(&[], 16_000), Err(VoiceNoteError::Empty));
        let too_long = vec![0i16; (MAX_SECONDS as usize + 1) * 8_000];
        assert_eq!(encode(&too_long, 8_000), Err(VoiceNoteError::TooLong));
        assert!(samples_from_le_bytes(&[1, 2, 3]).is_err());
        assert_eq!(
            samples_from_le_bytes(&[1, 0, 0xff, 0xff]).unwrap(),
            vec![1, -1]
        );
    }
}
