//! The byte format of a chunk: the events one commit appended to one workspace's log, as
//! stored in a segment file (see `segments`). `event_chunks` in SQLite says where each lies.
//!
//! ```text
//! chunk  := "DXC2" | body length (u32) | CRC-32 of body (u32) | body
//! body   := workspace (16) | count (u32) | event*
//! event  := seq (i64) | id (16) | created_at ms (i64) | kind (u8) | dedupe key (32)
//!           | origin flag (u8) [origin session (16)] | client_event_id (str16)
//!           | media count (u8) | (media_id, waba_id, phone_number_id as str16)*
//!           | sealed length (u32) + bytes
//! str16  := length (u16) + UTF-8 bytes
//! ```
//! Little-endian integers. A chunk carries everything its commit wrote to SQLite (seqs, ids,
//! dedupe keys, media to fetch), so that a commit SQLite lost in a crash is redone from the
//! segment (see `sqlite::recovery`); the checksum tells a complete chunk from a torn tail.

use protocol::events::EventKind;
use uuid::Uuid;

use super::{EventRecord, MediaRef, StoreError, StoreResult};

const MAGIC: &[u8; 4] = b"DXC2";
/// Magic, body length, checksum.
const HEADER: usize = 12;

/// One event to append, borrowed from its write op.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub kind: EventKind,
    pub key: &'a [u8; 32],
    pub sealed: &'a [u8],
    pub created_at_ms: i64,
    pub origin: Option<(Uuid, &'a str)>,
    pub media: &'a [MediaRef],
}

/// An event read back with everything its commit stored (for recovery).
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub record: EventRecord,
    pub key: [u8; 32],
    pub media: Vec<MediaRef>,
}

/// A whole chunk read back from a segment.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub workspace: Uuid,
    pub events: Vec<StoredEvent>,
}

fn kind_code(kind: EventKind) -> u8 {
    match kind {
        EventKind::MetaWebhook => 1,
        EventKind::Device => 2,
        EventKind::MediaStatus => 3,
        EventKind::DeviceManager => 4,
    }
}

fn kind_from_code(code: u8) -> Option<EventKind> {
    match code {
        1 => Some(EventKind::MetaWebhook),
        2 => Some(EventKind::Device),
        3 => Some(EventKind::MediaStatus),
        4 => Some(EventKind::DeviceManager),
        _ => None,
    }
}

fn too_long(what: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} too long for a chunk"))
}

fn put_str(out: &mut Vec<u8>, s: &str, what: &str) -> StoreResult<()> {
    let len = u16::try_from(s.len()).map_err(|_| too_long(what))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends the chunk of `events` (rising seqs of `workspace`) to `out`.
pub fn encode(workspace: Uuid, events: &[NewEvent<'_>], out: &mut Vec<u8>) -> StoreResult<()> {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0; 8]); // length and checksum, filled in below
    out.extend_from_slice(workspace.as_bytes());
    let count = u32::try_from(events.len()).map_err(|_| too_long("event run"))?;
    out.extend_from_slice(&count.to_le_bytes());
    for e in events {
        out.extend_from_slice(&e.seq.to_le_bytes());
        out.extend_from_slice(e.id.as_bytes());
        out.extend_from_slice(&e.created_at_ms.to_le_bytes());
        out.push(kind_code(e.kind));
        out.extend_from_slice(e.key);
        let client = match e.origin {
            Some((session, client)) => {
                out.push(1);
                out.extend_from_slice(session.as_bytes());
                client
            }
            None => {
                out.push(0);
                ""
            }
        };
        put_str(out, client, "client event id")?;
        out.push(u8::try_from(e.media.len()).map_err(|_| too_long("media list"))?);
        for m in e.media {
            put_str(out, &m.media_id, "media id")?;
            put_str(out, &m.waba_id, "WABA id")?;
            put_str(out, &m.phone_number_id, "phone number id")?;
        }
        let sealed_len = u32::try_from(e.sealed.len()).map_err(|_| too_long("sealed event"))?;
        out.extend_from_slice(&sealed_len.to_le_bytes());
        out.extend_from_slice(e.sealed);
    }
    let body = &out[start + HEADER..];
    let body_len = u32::try_from(body.len()).map_err(|_| too_long("chunk"))?;
    let crc = crc32fast::hash(body);
    out[start + 4..start + 8].copy_from_slice(&body_len.to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// A cursor over a chunk's bytes; every short read is corruption.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> StoreResult<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(StoreError::Corrupt("truncated event chunk".into()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> StoreResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn uuid(&mut self) -> StoreResult<Uuid> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    fn string(&mut self) -> StoreResult<String> {
        let len = usize::from(u16::from_le_bytes(self.array()?));
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| StoreError::Corrupt("bad string in event chunk".into()))
    }
}

/// The chunk at the start of `bytes` and its total length, or `None` if no complete chunk
/// with a matching checksum starts there (a torn tail, zeros, the end of the data).
pub fn next_chunk(bytes: &[u8]) -> Option<(Chunk, usize)> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return None;
    }
    let body_len = usize::try_from(u32::from_le_bytes(bytes[4..8].try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    let body = bytes.get(HEADER..HEADER.checked_add(body_len)?)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let chunk = decode_body(body).ok()?;
    Some((chunk, HEADER + body_len))
}

/// The events of a chunk of `workspace`, in seq order.
pub fn decode(workspace: Uuid, bytes: &[u8]) -> StoreResult<Vec<EventRecord>> {
    let (chunk, _) = next_chunk(bytes)
        .ok_or_else(|| StoreError::Corrupt("event chunk fails its checksum".into()))?;
    if chunk.workspace != workspace {
        return Err(StoreError::Corrupt(
            "event chunk of another workspace".into(),
        ));
    }
    Ok(chunk.events.into_iter().map(|e| e.record).collect())
}

fn decode_body(body: &[u8]) -> StoreResult<Chunk> {
    let mut r = Reader { bytes: body };
    let workspace = r.uuid()?;
    let count = u32::from_le_bytes(r.array()?);
    let mut events = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(4096));
    for _ in 0..count {
        let seq = i64::from_le_bytes(r.array()?);
        let id = r.uuid()?;
        let created_at = super::sqlite::from_ms(i64::from_le_bytes(r.array()?));
        let [code] = r.array()?;
        let kind = kind_from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("bad event kind {code}")))?;
        let key: [u8; 32] = r.array()?;
        let [flag] = r.array()?;
        let origin_session = if flag == 1 { Some(r.uuid()?) } else { None };
        let client = r.string()?;
        let [media_count] = r.array()?;
        let mut media = Vec::with_capacity(usize::from(media_count));
        for _ in 0..media_count {
            media.push(MediaRef {
                media_id: r.string()?,
                waba_id: r.string()?,
                phone_number_id: r.string()?,
            });
        }
        let sealed_len = usize::try_from(u32::from_le_bytes(r.array()?))
            .map_err(|_| StoreError::Corrupt("sealed length".into()))?;
        let sealed = r.take(sealed_len)?.to_vec();
        events.push(StoredEvent {
            record: EventRecord {
                seq,
                id,
                kind,
                sealed,
                created_at,
                origin_session,
                client_event_id: origin_session.map(|_| client),
            },
            key,
            media,
        });
    }
    Ok(Chunk { workspace, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_round_trips_names_its_workspace_and_detects_tears() {
        let ws = Uuid::new_v4();
        let session = Uuid::new_v4();
        let media = [MediaRef {
            media_id: "M1".into(),
            waba_id: "W".into(),
            phone_number_id: "P".into(),
        }];
        let events = [
            NewEvent {
                seq: 7,
                id: Uuid::now_v7(),
                kind: EventKind::MetaWebhook,
                key: &[1; 32],
                sealed: b"sealed one",
                created_at_ms: 1_700_000_000_123,
                origin: None,
                media: &media,
            },
            NewEvent {
                seq: 8,
                id: Uuid::now_v7(),
                kind: EventKind::Device,
                key: &[2; 32],
                sealed: b"",
                created_at_ms: 1_700_000_000_456,
                origin: Some((session, "client-1")),
                media: &[],
            },
        ];
        let mut bytes = b"xx".to_vec();
        encode(ws, &events, &mut bytes).unwrap();
        let bytes = &bytes[2..];
        let back = decode(ws, bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].seq, back[0].id), (7, events[0].id));
        assert_eq!(back[0].sealed, b"sealed one");
        assert_eq!(back[0].kind, EventKind::MetaWebhook);
        assert_eq!(back[0].origin_session, None);
        assert_eq!(back[0].client_event_id, None);
        assert_eq!(back[1].origin_session, Some(session));
        assert_eq!(back[1].client_event_id.as_deref(), Some("client-1"));
        assert_eq!(
            super::super::sqlite::ms(back[1].created_at),
            1_700_000_000_456
        );
        let (chunk, len) = next_chunk(bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(chunk.events[0].key, [1; 32]);
        assert_eq!(chunk.events[0].media, media);
        assert!(matches!(
            decode(Uuid::new_v4(), bytes),
            Err(StoreError::Corrupt(_))
        ));
        // A torn or altered chunk is not a chunk.
        assert!(next_chunk(&bytes[..bytes.len() - 1]).is_none());
        let mut flipped = bytes.to_vec();
        flipped[40] ^= 1;
        assert!(next_chunk(&flipped).is_none());
        assert!(next_chunk(&vec![0; bytes.len()]).is_none());
    }
}
