//! The connection the event index writes on (`synchronous=NORMAL`, see `SqliteStore::open`
//! and `index`), owned by the index task instead of a pool: a pool pings each connection
//! handed back to it, a second round trip to SQLite's worker thread in every transaction.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::store::StoreResult;

#[derive(Debug)]
pub(in crate::store) struct EventConnection {
    options: SqliteConnectOptions,
    conn: Option<SqliteConnection>,
}

impl EventConnection {
    /// Connects on first use (after the migrations ran on the main writer).
    pub fn new(options: SqliteConnectOptions) -> Self {
        Self {
            options,
            conn: None,
        }
    }

    pub async fn get(&mut self) -> StoreResult<&mut SqliteConnection> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(self.conn.insert(conn))
    }

    /// Drops the connection after a failed transaction: closing it rolls back whatever the
    /// failure left open (or SQLite already rolled back on SQLITE_FULL), and the next one
    /// starts on a fresh one rather than one in an unknown state.
    pub fn reset(&mut self) {
        self.conn = None;
    }

    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the event connection failed");
            }
        }
    }
}
