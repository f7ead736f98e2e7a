//! A generated message history of realistic shape, shared by the store benchmark and the
//! `fill_history` example (which fills a signed-in data directory for the app's start-up
//! benchmark): `conversations` customers, each with the same number of text messages five
//! minutes apart, alternating inbound and outbound, in a mixed-language vocabulary.

use dataoptix_core::store::Store;
use serde_json::json;

/// The words generated texts are made of (accents and ß included, as customers write).
pub const WORDS: &[&str] = &[
    "order",
    "delivery",
    "price",
    "cake",
    "bread",
    "tomorrow",
    "thanks",
    "hello",
    "invoice",
    "address",
    "pickup",
    "sourdough",
    "croissant",
    "birthday",
    "gluten",
    "vegan",
    "open",
    "closed",
    "monday",
    "friday",
    "payment",
    "receipt",
    "discount",
    "refund",
    "lisbon",
    "porto",
    "são",
    "paulo",
    "café",
    "naïve",
    "smörgås",
    "straße",
    "ramen",
    "tapas",
    "zürich",
];

/// A deterministic text of 4–15 words.
pub fn text(n: u64) -> String {
    let mut x = n
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let len = 4 + (x % 12) as usize;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            WORDS[(x >> 33) as usize % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the generated history goes: an existing workspace row and a business number.
pub struct Target<'a> {
    pub workspace_id: &'a str,
    pub phone_number_id: &'a str,
    pub waba_id: &'a str,
}

/// Adds the business number (if missing) and `messages` messages in `conversations` new
/// conversations, one transaction per conversation, then optimizes the search index and
/// refreshes the planner's statistics. `progress` is called after each conversation.
pub async fn fill(
    store: &Store,
    target: &Target<'_>,
    messages: usize,
    conversations: usize,
    mut progress: impl FnMut(usize),
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO phone_numbers (id, workspace_id, waba_id, display_phone_number,
             verified_name, quality_rating, messaging_limit, name_status, updated_at)
         VALUES (?, ?, ?, '+1 555 000 1111', 'Bench Bakery', 'GREEN', 'TIER_1K', 'APPROVED', 0)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(target.phone_number_id)
    .bind(target.workspace_id)
    .bind(target.waba_id)
    .execute(pool)
    .await?;
    let per = messages / conversations.max(1);
    let base: i64 = 1_700_000_000;
    for c in 0..conversations {
        let mut tx = store.begin_write().await?;
        let wa_id = format!("{}", 15_550_000_000u64 + c as u64);
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (workspace_id, wa_id, phone_normalized, profile_name,
                 created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0) RETURNING id",
        )
        .bind(target.workspace_id)
        .bind(&wa_id)
        .bind(&wa_id)
        .bind(format!("Customer {c} {}", WORDS[c % WORDS.len()]))
        .fetch_one(&mut *tx)
        .await?;
        let conv: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (workspace_id, phone_number_id, contact_id)
             VALUES (?, ?, ?) RETURNING id",
        )
        .bind(target.workspace_id)
        .bind(target.phone_number_id)
        .bind(contact)
        .fetch_one(&mut *tx)
        .await?;
        let mut last = (0, 0);
        for m in 0..per {
            let n = (c * per + m) as u64;
            let ts = base + (m as i64) * 300 + (c as i64 % 300);
            let dir = if m % 2 == 0 { "in" } else { "out" };
            let body = text(n);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO messages (conversation_id, wamid, direction, kind, ts, from_id,
                     text_body, status, raw_json, created_at)
                 VALUES (?, ?, ?, 'text', ?, ?, ?, ?, ?, 0) RETURNING id",
            )
            .bind(conv)
            .bind(format!("wamid.bench.{n}"))
            .bind(dir)
            .bind(ts)
            .bind((dir == "in").then_some(&wa_id))
            .bind(&body)
            .bind((dir == "out").then_some("read"))
            .bind(json!({"type": "text", "text": {"body": body}}).to_string())
            .fetch_one(&mut *tx)
            .await?;
            last = (id, ts);
        }
        sqlx::query(
            "UPDATE conversations SET last_message_id = ?, last_message_at = ?,
                 last_inbound_at = ?, unread_count = ? WHERE id = ?",
        )
        .bind(last.0)
        .bind(last.1)
        .bind(last.1 - 300)
        .bind((c % 3) as i64)
        .bind(conv)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        progress(c + 1);
    }
    sqlx::query("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        .execute(pool)
        .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}
