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

/// A wamid of the shape Meta sends (`wamid.` and base64 of: a header, the customer's number, a
/// separator, a 20-hex-digit message id, a zero byte), here with the id hashed from `n` so the
/// data is the same on every run. Sorted, a customer's messages sit together and customers
/// spread over the whole `wamid` index, as in a real store: a page of a catch-up inserts into
/// it in as many places as it has customers. Sequential ids would put every insert in one
/// corner of the index.
pub fn wamid(wa_id: &str, n: u64) -> String {
    use base64::Engine as _;
    let id = format!("{:016X}{:04X}", mix(n), mix(!n) & 0xffff);
    let mut bytes = vec![0x1c, 0x18, wa_id.len() as u8];
    bytes.extend_from_slice(wa_id.as_bytes());
    bytes.extend_from_slice(&[0x15, 0x02, 0x00, 0x12, 0x18, id.len() as u8]);
    bytes.extend_from_slice(id.as_bytes());
    bytes.push(0);
    format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// SplitMix64's finaliser: a well-spread 64-bit hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
            .bind(wamid(&wa_id, n))
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
