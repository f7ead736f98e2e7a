//! What a device's store holds, without row ids or local timestamps, so that two stores that
//! received the same events (in any order, any number of times) compare equal.

use std::collections::BTreeMap;

use anyhow::Result;
use dataoptix_core::store::Store;

/// Each query yields one JSON array per row (the content only), sorted.
const SECTIONS: &[(&str, &str)] = &[
    (
        "contacts",
        "SELECT json_array(wa_id, user_id, profile_name, display_name, opted_out) FROM contacts",
    ),
    (
        "conversations",
        "SELECT json_array(c.phone_number_id, ct.wa_id, c.last_message_at, m.wamid,
                c.last_inbound_at, c.unread_count, c.archived)
         FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN messages m ON m.id = c.last_message_id",
    ),
    (
        "messages",
        "SELECT json_array(ct.wa_id, m.wamid, m.direction, m.origin, m.kind, m.ts, m.from_id,
                m.text_body, m.caption, m.reply_id, m.context_wamid, m.status, m.status_rank,
                m.status_at, m.error_code, m.edited_at, m.deleted_at)
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         JOIN contacts ct ON ct.id = c.contact_id",
    ),
    (
        "statuses",
        "SELECT json_array(wamid, status, rank, ts, error_code, error_title)
         FROM message_statuses",
    ),
    (
        "reactions",
        "SELECT json_array(message_wamid, reactor, emoji, ts) FROM reactions",
    ),
    (
        "revisions",
        "SELECT json_array(wamid, kind, new_text, ts) FROM message_revisions",
    ),
];

/// The normalised content: section → sorted rows.
pub async fn dump(store: &Store) -> Result<BTreeMap<&'static str, Vec<String>>> {
    let mut out = BTreeMap::new();
    for (name, sql) in SECTIONS {
        let mut rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(store.pool()).await?;
        rows.sort();
        out.insert(*name, rows);
    }
    Ok(out)
}

/// How many times each wamid is stored as a message.
pub async fn wamid_counts(store: &Store) -> Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT wamid, count(*) FROM messages GROUP BY wamid")
            .fetch_all(store.pool())
            .await?;
    Ok(rows.into_iter().collect())
}

/// Fails unless every one of `wamids` is stored exactly once and nothing else is stored.
pub async fn ensure_each_once(store: &Store, wamids: &[String]) -> Result<()> {
    let counts = wamid_counts(store).await?;
    let missing: Vec<&String> = wamids.iter().filter(|w| !counts.contains_key(*w)).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} acknowledged webhooks missing from the store, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let doubled: Vec<_> = counts.iter().filter(|(_, &c)| c != 1).collect();
    anyhow::ensure!(doubled.is_empty(), "stored more than once: {doubled:?}");
    anyhow::ensure!(
        counts.len() == wamids.len(),
        "{} messages stored for {} webhooks",
        counts.len(),
        wamids.len()
    );
    Ok(())
}
