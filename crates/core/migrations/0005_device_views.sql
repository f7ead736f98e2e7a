-- Who sent an outbound message (staff member), and conversation labels.
ALTER TABLE messages ADD COLUMN author TEXT;
CREATE TABLE conversation_labels (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    label            TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
