//! Export: everything held about one contact, or about every contact of a workspace, as a zip
//! the business can hand over (a data-subject access request) or keep.
//!
//! The archive holds:
//! - `data.json`: `{"format", "exported_at", "scope", "contacts": [...]}` with, per contact,
//!   every row of every table that refers to them — contact, conversations, messages (with
//!   `raw_json`, parsed), statuses, reactions, edits, media rows, and any other table with a
//!   `contact_id` or `conversation_id` column (notes, labels, outbox…), found from the schema.
//! - `transcript.html`: the conversations, readable in a browser. Every piece of content is
//!   HTML-escaped; the page has no script and a CSP that forbids any.
//!   Media messages link to their file in `media/`.
//! - `manifest.json`: counts, the media files included (name, type, size, SHA-256), and those
//!   that could not be and why (not downloaded yet, download failed, file gone).
//! - `media/`: the media files, decrypted (they are encrypted at rest: [`crate::media::file`]),
//!   named `<message id>-<media row id>.<extension>` — never after a name the customer chose.
//!
//! The archive is written to `<dest>.partial` and renamed to `dest` only when complete, so a
//! crash never leaves a truncated file under the final name.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{ident, row_to_json, tables_with_column, PrivacyError};
use crate::media::file as media_file;
use crate::store::{now, Store, StoreError};
use crate::vault::{MasterKey, Vault, VaultError};

/// `data.json`'s `format`.
pub const FORMAT: &str = "dataoptix-export/1";

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ExportScope {
    /// One contact, by local id.
    Contact(i64),
    /// Every contact of a workspace.
    Workspace(String),
}

/// Which part of the export is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStage {
    /// `data.json`, one contact at a time.
    Data,
    /// `media/`, one file at a time (`done` and `total` count files here).
    Media,
    /// `transcript.html`, one contact at a time.
    Transcript,
    /// The archive is complete.
    Done,
}

/// Progress reported to the caller's callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportProgress {
    /// The part being written.
    pub stage: ExportStage,
    /// Contacts done in this stage.
    pub done: u64,
    /// Contacts in the export.
    pub total: u64,
}

/// A media file not included, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedMedia {
    /// The media row.
    pub media_id: i64,
    /// Its message.
    pub message_id: Option<i64>,
    /// Why.
    pub reason: String,
}

/// A media file included in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncludedMedia {
    /// The media row.
    pub media_id: i64,
    /// Its message.
    pub message_id: Option<i64>,
    /// Its name inside the archive (`media/...`).
    pub file: String,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Where media files are and the key that opens them.
pub struct MediaFiles<'a> {
    /// The data directory the media rows' paths are relative to.
    pub data_dir: &'a Path,
    /// The media file key; `None` when this device never stored a media file.
    pub key: Option<MasterKey>,
}

impl<'a> MediaFiles<'a> {
    /// The media files of the device whose vault is `vault`.
    pub fn of(vault: &'a Vault) -> Result<Self, VaultError> {
        Ok(Self {
            data_dir: vault.data_dir(),
            key: media_file::file_key(vault, false)?,
        })
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The archive.
    pub path: PathBuf,
    /// Contacts exported.
    pub contacts: u64,
    /// Messages exported.
    pub messages: u64,
    /// Media files included.
    pub media_included: Vec<IncludedMedia>,
    /// Media files not included.
    pub media_skipped: Vec<SkippedMedia>,
}

/// Writes the export of `scope` to `dest` (a `.zip`), calling `progress` as it goes, and logs
/// it in the activity log as `actor` (counts only, no content).
pub async fn export(
    store: &Store,
    media: &MediaFiles<'_>,
    actor: &str,
    scope: &ExportScope,
    dest: &Path,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PrivacyError> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    let contacts = contact_ids(&mut conn, scope).await?;
    let total = contacts.len() as u64;
    let partial = partial_path(dest);
    let result = write_archive(&mut conn, media, scope, &contacts, &partial, &mut progress).await;
    let (messages, included, skipped) = match result {
        Ok(r) => r,
        Err(e) => {
            // Never leave a half-written archive (it holds personal data) behind.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, dest)?;
    drop(conn);
    progress(ExportProgress {
        stage: ExportStage::Done,
        done: total,
        total,
    });
    let report = ExportReport {
        path: dest.to_path_buf(),
        contacts: total,
        messages,
        media_included: included,
        media_skipped: skipped,
    };
    let subject = match scope {
        ExportScope::Contact(id) => format!("contact:{id}"),
        ExportScope::Workspace(id) => format!("workspace:{id}"),
    };
    let details = json!({
        "contacts": report.contacts,
        "messages": report.messages,
        "media_included": report.media_included.len(),
        "media_skipped": report.media_skipped.len(),
    });
    super::activity::record(store, actor, "privacy.export", Some(&subject), &details).await?;
    Ok(report)
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

async fn contact_ids(
    conn: &mut SqliteConnection,
    scope: &ExportScope,
) -> Result<Vec<i64>, PrivacyError> {
    match scope {
        ExportScope::Contact(id) => {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            found
                .map(|id| vec![id])
                .ok_or(PrivacyError::ContactNotFound(*id))
        }
        ExportScope::Workspace(ws) => Ok(sqlx::query_scalar(
            "SELECT id FROM contacts WHERE workspace_id = ? ORDER BY id",
        )
        .bind(ws)
        .fetch_all(&mut *conn)
        .await?),
    }
}

const CONVERSATIONS: &str = "SELECT id FROM conversations WHERE contact_id = ?1";
const MESSAGES: &str = "SELECT id FROM messages WHERE conversation_id IN \
     (SELECT id FROM conversations WHERE contact_id = ?1)";
const WAMIDS: &str = "SELECT wamid FROM messages WHERE conversation_id IN \
     (SELECT id FROM conversations WHERE contact_id = ?1)";

async fn rows(
    conn: &mut SqliteConnection,
    sql: &str,
    contact_id: i64,
) -> Result<Vec<Value>, StoreError> {
    let rows = sqlx::query(sql)
        .bind(contact_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(row_to_json).collect())
}

/// Every row about one contact, by table.
async fn contact_data(
    conn: &mut SqliteConnection,
    contact_id: i64,
) -> Result<serde_json::Map<String, Value>, StoreError> {
    let mut out = serde_json::Map::new();
    let fixed = [
        (
            "contact",
            "SELECT * FROM contacts WHERE id = ?1".to_string(),
        ),
        (
            "conversations",
            "SELECT * FROM conversations WHERE contact_id = ?1 ORDER BY id".to_string(),
        ),
        (
            "messages",
            format!("SELECT * FROM messages WHERE id IN ({MESSAGES}) ORDER BY ts, id"),
        ),
        (
            "message_statuses",
            format!("SELECT * FROM message_statuses WHERE wamid IN ({WAMIDS}) ORDER BY ts, id"),
        ),
        (
            "reactions",
            format!("SELECT * FROM reactions WHERE message_wamid IN ({WAMIDS}) ORDER BY ts, id"),
        ),
        (
            "message_revisions",
            format!("SELECT * FROM message_revisions WHERE wamid IN ({WAMIDS}) ORDER BY ts, id"),
        ),
        (
            "media",
            format!("SELECT * FROM media WHERE message_id IN ({MESSAGES}) ORDER BY id"),
        ),
    ];
    for (key, sql) in fixed {
        let mut found = rows(conn, &sql, contact_id).await?;
        let value = if key == "contact" {
            found.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(found)
        };
        out.insert(key.to_string(), value);
    }
    // Tables added by other features (notes, labels, outbox…), found from the schema.
    let known = [
        "contacts",
        "conversations",
        "messages",
        "message_statuses",
        "reactions",
        "message_revisions",
        "media",
    ];
    for table in tables_with_column(conn, "contact_id", &known).await? {
        let sql = format!("SELECT * FROM {} WHERE contact_id = ?1", ident(&table));
        out.insert(table, Value::Array(rows(conn, &sql, contact_id).await?));
    }
    for table in tables_with_column(conn, "conversation_id", &known).await? {
        if out.contains_key(&table) {
            continue;
        }
        let sql = format!(
            "SELECT * FROM {} WHERE conversation_id IN ({CONVERSATIONS})",
            ident(&table)
        );
        out.insert(table, Value::Array(rows(conn, &sql, contact_id).await?));
    }
    Ok(out)
}

/// What `write_archive` produced: messages, media included, media skipped.
type Written = (u64, Vec<IncludedMedia>, Vec<SkippedMedia>);

async fn write_archive(
    conn: &mut SqliteConnection,
    media: &MediaFiles<'_>,
    scope: &ExportScope,
    contacts: &[i64],
    partial: &Path,
    progress: &mut impl FnMut(ExportProgress),
) -> Result<Written, PrivacyError> {
    let total = contacts.len() as u64;
    let file = File::create(partial)?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);

    // data.json, one contact at a time so memory stays bounded by the largest contact.
    zip.start_file("data.json", options)?;
    let exported_at = now();
    write!(
        zip,
        "{{\"format\":{},\"exported_at\":{},\"scope\":{},\"contacts\":[",
        json!(FORMAT),
        exported_at,
        json!(scope)
    )?;
    let mut messages = 0_u64;
    let mut media_rows = Vec::new();
    for (i, id) in contacts.iter().enumerate() {
        let data = contact_data(conn, *id).await?;
        messages += data
            .get("messages")
            .and_then(Value::as_array)
            .map_or(0, |m| m.len() as u64);
        for m in data
            .get("media")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            media_rows.push(MediaRow::from_json(m));
        }
        if i > 0 {
            zip.write_all(b",")?;
        }
        serde_json::to_writer(&mut zip, &data).map_err(std::io::Error::from)?;
        progress(ExportProgress {
            stage: ExportStage::Data,
            done: i as u64 + 1,
            total,
        });
    }
    zip.write_all(b"]}")?;

    let (included, skipped) = write_media(&mut zip, options, media, &media_rows, progress)?;
    let links: std::collections::HashMap<i64, &str> = included
        .iter()
        .filter_map(|m| Some((m.message_id?, m.file.as_str())))
        .collect();

    zip.start_file("transcript.html", options)?;
    zip.write_all(TRANSCRIPT_HEAD.as_bytes())?;
    for (i, id) in contacts.iter().enumerate() {
        let html = transcript_section(conn, *id, &links).await?;
        zip.write_all(html.as_bytes())?;
        progress(ExportProgress {
            stage: ExportStage::Transcript,
            done: i as u64 + 1,
            total,
        });
    }
    zip.write_all(b"</body>\n</html>\n")?;

    zip.start_file("manifest.json", options)?;
    let manifest = json!({
        "format": FORMAT,
        "exported_at": exported_at,
        "scope": scope,
        "contacts": total,
        "messages": messages,
        "media": {"included": included, "skipped": skipped},
    });
    serde_json::to_writer_pretty(&mut zip, &manifest).map_err(std::io::Error::from)?;
    let mut inner = zip.finish()?;
    inner.flush()?;
    inner.get_ref().sync_all()?;
    Ok((messages, included, skipped))
}

/// What the export needs of a `media` row.
struct MediaRow {
    id: i64,
    message_id: Option<i64>,
    path: Option<String>,
    mime_type: Option<String>,
    state: String,
    last_error: Option<String>,
}

impl MediaRow {
    fn from_json(row: &Value) -> Self {
        let text = |k: &str| row[k].as_str().map(str::to_owned);
        Self {
            id: row["id"].as_i64().unwrap_or_default(),
            message_id: row["message_id"].as_i64(),
            path: text("path"),
            mime_type: text("mime_type"),
            state: text("download_state").unwrap_or_default(),
            last_error: text("last_error"),
        }
    }
}

/// Decrypts each downloaded media file into `media/`, one at a time (memory bounded by the
/// largest file); lists the others with the reason they are missing.
fn write_media<W: Write + std::io::Seek>(
    zip: &mut ZipWriter<W>,
    options: SimpleFileOptions,
    media: &MediaFiles<'_>,
    rows: &[MediaRow],
    progress: &mut impl FnMut(ExportProgress),
) -> Result<(Vec<IncludedMedia>, Vec<SkippedMedia>), PrivacyError> {
    let mut included = Vec::new();
    let mut skipped = Vec::new();
    let total = rows.len() as u64;
    for (i, row) in rows.iter().enumerate() {
        match media_plaintext(media, row) {
            Ok(bytes) => {
                let file = format!(
                    "media/{}-{}.{}",
                    row.message_id.unwrap_or_default(),
                    row.id,
                    extension(row.mime_type.as_deref())
                );
                // Photos, videos and voice notes are compressed already.
                zip.start_file(&file, options.compression_method(CompressionMethod::Stored))?;
                zip.write_all(&bytes)?;
                included.push(IncludedMedia {
                    media_id: row.id,
                    message_id: row.message_id,
                    file,
                    mime_type: row.mime_type.clone(),
                    size_bytes: bytes.len() as u64,
                    sha256: hex::encode(crate::media::verify::sha256(&bytes)),
                });
            }
            Err(reason) => skipped.push(SkippedMedia {
                media_id: row.id,
                message_id: row.message_id,
                reason,
            }),
        }
        progress(ExportProgress {
            stage: ExportStage::Media,
            done: i as u64 + 1,
            total,
        });
    }
    Ok((included, skipped))
}

/// The decrypted bytes of a media row's file, or why there are none.
fn media_plaintext(
    media: &MediaFiles<'_>,
    row: &MediaRow,
) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    match row.state.as_str() {
        "done" => {}
        "failed" => {
            return Err(format!(
                "the download failed: {}",
                row.last_error.as_deref().unwrap_or("no reason given")
            ))
        }
        _ => return Err("not downloaded yet".into()),
    }
    let (Some(relative), Some(key)) = (row.path.as_deref(), media.key.as_ref()) else {
        return Err("the file is missing".into());
    };
    // The path comes from our own row, but stays confined to the data directory all the same.
    let path = super::inside(media.data_dir, relative).ok_or("the file is missing")?;
    let sealed = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the file is missing".to_string(),
        _ => format!("the file could not be read: {e}"),
    })?;
    media_file::open(key, relative, &sealed)
        .map_err(|_| "the file failed its integrity check (altered or damaged)".to_string())
}

/// The usual extension of Meta's media types; `bin` for anything else.
fn extension(mime_type: Option<&str>) -> &'static str {
    let essence = mime_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    match essence {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        _ => "bin",
    }
}

const TRANSCRIPT_HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
<title>DataOptix export</title>\n<style>body{font-family:sans-serif;max-width:50em;margin:auto}\
li{margin:.3em 0;list-style:none}.out{text-align:right}time{color:#666;font-size:.8em}</style>\n\
</head>\n<body>\n<h1>Conversations</h1>\n";

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(sqlx::FromRow)]
struct TranscriptLine {
    id: i64,
    conversation_id: i64,
    phone_number_id: String,
    direction: String,
    kind: String,
    ts: i64,
    text_body: Option<String>,
    caption: Option<String>,
    document_filename: Option<String>,
    location_name: Option<String>,
    reply_title: Option<String>,
    deleted_at: Option<i64>,
}

async fn transcript_section(
    conn: &mut SqliteConnection,
    contact_id: i64,
    media_links: &std::collections::HashMap<i64, &str>,
) -> Result<String, StoreError> {
    let (wa_id, user_id, profile, display): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT wa_id, user_id, profile_name, display_name FROM contacts WHERE id = ?",
    )
    .bind(contact_id)
    .fetch_one(&mut *conn)
    .await?;
    let name = display
        .or(profile)
        .unwrap_or_else(|| "(no name)".to_string());
    let handle = wa_id.or(user_id).unwrap_or_default();
    let lines: Vec<TranscriptLine> = sqlx::query_as(
        "SELECT m.id, m.conversation_id, c.phone_number_id, m.direction, m.kind, m.ts, m.text_body,
                m.caption, m.document_filename, m.location_name, m.reply_title, m.deleted_at
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.contact_id = ? ORDER BY m.conversation_id, m.ts, m.id",
    )
    .bind(contact_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<section>\n<h2>{} <small>{}</small></h2>\n",
        escape_html(&name),
        escape_html(&handle)
    );
    let mut current = None;
    for l in &lines {
        if current != Some(l.conversation_id) {
            if current.is_some() {
                html.push_str("</ol>\n");
            }
            current = Some(l.conversation_id);
            let _ = writeln!(
                html,
                "<h3>Business number {}</h3>\n<ol>",
                escape_html(&l.phone_number_id)
            );
        }
        let who = if l.direction == "out" { "You" } else { &name };
        // Our own file name (digits and a fixed extension), escaped all the same.
        let link = media_links
            .get(&l.id)
            .map(|file| format!(" <a href=\"{}\">open file</a>", escape_html(file)))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<li class=\"{}\"><time>{}</time> <b>{}</b>: {}{}</li>",
            if l.direction == "out" { "out" } else { "in" },
            escape_html(&format_time(l.ts)),
            escape_html(who),
            escape_html(&line_text(l)),
            link
        );
    }
    if current.is_some() {
        html.push_str("</ol>\n");
    } else {
        html.push_str("<p>No messages.</p>\n");
    }
    html.push_str("</section>\n");
    Ok(html)
}

fn line_text(l: &TranscriptLine) -> String {
    if l.deleted_at.is_some() && l.text_body.is_none() && l.caption.is_none() {
        return "[deleted]".to_string();
    }
    let text = l
        .text_body
        .clone()
        .or_else(|| l.caption.clone())
        .or_else(|| l.reply_title.clone());
    let attachment = l
        .document_filename
        .clone()
        .or_else(|| l.location_name.clone());
    match (l.kind.as_str(), text, attachment) {
        ("text", Some(t), _) => t,
        (kind, Some(t), Some(a)) => format!("[{kind}: {a}] {t}"),
        (kind, Some(t), None) => format!("[{kind}] {t}"),
        (kind, None, Some(a)) => format!("[{kind}: {a}]"),
        (kind, None, None) => format!("[{kind}]"),
    }
}

fn format_time(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_html("<script>alert(\"x\") & 'y'</script>"),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn media_files_get_their_types_extension() {
        assert_eq!(extension(Some("image/jpeg")), "jpg");
        assert_eq!(extension(Some("audio/ogg; codecs=opus")), "ogg");
        assert_eq!(extension(Some("application/x-msdownload")), "bin");
        assert_eq!(extension(None), "bin");
    }

    #[test]
    fn partial_path_sits_next_to_the_destination() {
        assert_eq!(
            partial_path(Path::new("/tmp/out/export.zip")),
            PathBuf::from("/tmp/out/export.zip.partial")
        );
    }
}
