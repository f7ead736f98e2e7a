-- The message index's own vocabulary, one row per (term, message, column, offset). Search reads
-- it one seek at a time to expand each typed word into the indexed terms it is a prefix of
-- (store/search_query.rs): FTS5 answers a query of exact terms by streaming in rowid order and
-- stopping at the page, where a prefix query first merges every matching document (tens of ms
-- for a common word over a million messages). A virtual table over the index: it stores nothing.
CREATE VIRTUAL TABLE messages_fts_terms USING fts5vocab(messages_fts, instance);
