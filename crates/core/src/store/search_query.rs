//! Turns what a user typed into an FTS5 query for the message index that stays fast on a large
//! history.
//!
//! Every typed word matches as a prefix ("refund" finds "refunded", "sao" finds "São"). FTS5
//! answers a prefix query by merging the document lists of every matching term before it
//! returns a first row — 30–90 ms for a common word over a million messages, however small the
//! page. A query of exact terms streams in rowid order and stops at the page (~0.3 ms). So each
//! word is expanded into the indexed terms it is a prefix of, read from the index's own
//! vocabulary (`messages_fts_terms`, migration 0010) with one seek per term, and the query ORs
//! them. Words the expansion cannot handle exactly keep FTS5's own prefix query: slower on
//! common words, never wrong.

use sqlx::SqliteConnection;
use unicode_normalization::UnicodeNormalization;

/// More terms than this under one prefix (a word's first letter or two, in a large history)
/// costs more in seeks than the prefix query it replaces.
const MAX_TERMS_PER_WORD: usize = 24;

/// An FTS5 phrase for `word` matching as a prefix, with quotes escaped so that operators typed
/// by the user (`OR`, `NEAR`, `*`, `"`) are searched for as text.
pub(crate) fn prefix_phrase(word: &str) -> String {
    format!("\"{}\"*", word.replace('"', "\"\""))
}

/// `word` as the message index's tokenizer (`unicode61 remove_diacritics 2`) stores it, when
/// that is certain: one token of ASCII letters and digits once diacritics are removed and case
/// is folded ("São" → "sao", "Order42" → "order42"). `None` for anything else (punctuation
/// splitting it into several tokens, letters without an ASCII base such as "ß" or "д"), which
/// then keeps FTS5's own prefix query.
pub(crate) fn fold_word(word: &str) -> Option<String> {
    let mut folded = String::with_capacity(word.len());
    for c in word.nfd() {
        if c.is_ascii_alphanumeric() {
            folded.push(c.to_ascii_lowercase());
        } else if !is_combining_mark(c) {
            return None;
        }
    }
    (!folded.is_empty()).then_some(folded)
}

/// The combining diacritical marks that NFD splits off Latin letters (and that the tokenizer's
/// `remove_diacritics 2` drops).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The FTS5 query for the message index, `None` when nothing was typed.
pub(crate) async fn message_query(
    conn: &mut SqliteConnection,
    input: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut parts = Vec::new();
    for word in input.split_whitespace() {
        let expanded = match fold_word(word) {
            Some(folded) => expand(conn, &folded).await?,
            None => None,
        };
        parts.push(match expanded {
            Some(terms) => any_of(&terms),
            None => prefix_phrase(word),
        });
    }
    Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
}

/// The indexed terms starting with `prefix` (ASCII, folded), or `None` when there are none or
/// too many: FTS5's prefix query answers both of those cases as fast or faster.
async fn expand(
    conn: &mut SqliteConnection,
    prefix: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let upper = ascii_successor(prefix);
    let mut terms: Vec<String> = Vec::new();
    // A skip scan: each step seeks the first term after the previous one. `DISTINCT` or a
    // range without LIMIT 1 would walk every occurrence of every term in the range.
    let mut from = prefix.to_owned();
    loop {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT term FROM messages_fts_terms WHERE term >= ? AND term < ? LIMIT 1",
        )
        .bind(&from)
        .bind(&upper)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(term) = next else { break };
        if terms.len() == MAX_TERMS_PER_WORD {
            return Ok(None);
        }
        // Tokens never hold control characters (the tokenizer splits on them), so
        // `term + "\x01"` is the least string after `term` that can be another term.
        from = format!("{term}\u{1}");
        terms.push(term);
    }
    Ok((!terms.is_empty()).then_some(terms))
}

/// The least string greater than every string starting with `prefix` (ASCII, non-empty):
/// its last byte plus one. Terms compare bytewise, so non-ASCII continuations ("straße" under
/// "stra") still sort below it.
fn ascii_successor(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        // Folded prefixes are ASCII letters and digits: + 1 stays ASCII.
        *last += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `("a" OR "b")`: terms from the index, quoted as phrases.
fn any_of(terms: &[String]) -> String {
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    format!("({})", quoted.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_like_the_tokenizer_or_declines() {
        assert_eq!(fold_word("São").as_deref(), Some("sao"));
        assert_eq!(fold_word("CAFÉ").as_deref(), Some("cafe"));
        assert_eq!(fold_word("Order42").as_deref(), Some("order42"));
        assert_eq!(fold_word("Việt").as_deref(), Some("viet"));
        // Several tokens, letters without an ASCII base, operators: FTS5's own prefix query.
        assert_eq!(fold_word("e-mail"), None);
        assert_eq!(fold_word("straße"), None);
        assert_eq!(fold_word("привет"), None);
        assert_eq!(fold_word("\"OR"), None);
        assert_eq!(fold_word("*"), None);
    }

    #[test]
    fn successor_bounds_the_prefix() {
        assert_eq!(ascii_successor("caf"), "cag");
        assert_eq!(ascii_successor("a9"), "a:");
        assert!("straße" < ascii_successor("stra").as_str());
        assert!("strb" >= ascii_successor("stra").as_str());
    }

    #[tokio::test]
    async fn words_become_the_indexed_terms_they_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::vault::MasterKey::generate();
        let store = crate::store::Store::open(&dir.path().join("s.db"), &key)
            .await
            .unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        // The index alone is what the expansion reads.
        let mut text: Vec<String> = vec!["Café cake São".into(), "straße".into()];
        text.extend((0..30).map(|i| format!("pa{i}")));
        for (rowid, body) in text.iter().enumerate() {
            sqlx::query("INSERT INTO messages_fts(rowid, text_body) VALUES (?, ?)")
                .bind(rowid as i64 + 1)
                .bind(body)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        assert_eq!(
            message_query(&mut conn, "ca").await.unwrap().as_deref(),
            Some("(\"cafe\" OR \"cake\")")
        );
        assert_eq!(
            message_query(&mut conn, "CAF são")
                .await
                .unwrap()
                .as_deref(),
            Some("(\"cafe\") AND (\"sao\")")
        );
        // No term under it: FTS5's prefix query (instant on an empty range).
        assert_eq!(
            message_query(&mut conn, "cab").await.unwrap().as_deref(),
            Some("\"cab\"*")
        );
        // More terms than the expansion takes, or not foldable: the prefix query.
        assert_eq!(
            message_query(&mut conn, "pa").await.unwrap().as_deref(),
            Some("\"pa\"*")
        );
        assert_eq!(
            message_query(&mut conn, "stra").await.unwrap().as_deref(),
            Some("(\"straße\")")
        );
        assert_eq!(
            message_query(&mut conn, "straß").await.unwrap().as_deref(),
            Some("\"straß\"*")
        );
        assert_eq!(message_query(&mut conn, "  ").await.unwrap(), None);
    }

    #[test]
    fn phrases_escape_quotes() {
        assert_eq!(prefix_phrase("a\"b"), "\"a\"\"b\"*");
        assert_eq!(
            any_of(&["cafe".into(), "cake".into()]),
            "(\"cafe\" OR \"cake\")"
        );
    }
}
