//! Shared application state: the database and what every surface needs to know.

use crate::config::AppConfig;
use crate::db::{Db, DbError};

/// Managed Rocket state.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub config: AppConfig,
    /// `public_url` resolved once.
    pub public_url: String,
}

/// Errors of running blocking database work off the async workers.
impl App {
    /// Runs a write transaction on a blocking thread.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Transaction) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.db.clone();
        rocket::tokio::task::spawn_blocking(move || db.write(f))
            .await
            .unwrap_or_else(|e| Err(E::from(DbError::Migration(format!("database task failed: {e}")))))
    }

    /// Runs a read transaction on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Transaction) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.db.clone();
        rocket::tokio::task::spawn_blocking(move || db.read(f))
            .await
            .unwrap_or_else(|e| Err(E::from(DbError::Migration(format!("database task failed: {e}")))))
    }
}
