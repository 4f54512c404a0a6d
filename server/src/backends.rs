//! Opening the storage a [`Storage`] names: the database ([`crate::store`]) and the photo store
//! ([`crate::media`]), SQLite and a folder in the data directory by default.

use std::sync::Arc;

use crate::config::{Database, MediaLocation, Storage};
use crate::error::ServerError;
use crate::media::{MediaDir, MediaStore, S3Media};
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{SQLITE_FILE, Store};

/// Opens (creating and migrating) the database. Blocking.
pub fn open_store(storage: &Storage) -> Result<Arc<dyn Store>, ServerError> {
    Ok(match &storage.database {
        Database::Sqlite => {
            std::fs::create_dir_all(&storage.data_dir)?;
            Arc::new(SqliteStore::open(&storage.data_dir.join(SQLITE_FILE))?)
        }
        Database::Postgres(url) => Arc::new(PostgresStore::open(url.expose())?),
    })
}

/// Opens the photo store (creating a local folder if needed).
pub fn open_media(storage: &Storage) -> Result<Arc<dyn MediaStore>, ServerError> {
    Ok(match &storage.media {
        MediaLocation::Local => Arc::new(MediaDir::open(storage.data_dir.join("media"))?),
        MediaLocation::S3(location) => Arc::new(S3Media::open(location)?),
    })
}
