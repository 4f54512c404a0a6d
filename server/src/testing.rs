//! Storage for tests of the server and of its users: the SQLite default, or — when the
//! environment names a city's backends (`scripts/city-services start` prints the variables) —
//! a fresh PostgreSQL database and a fresh S3 key prefix per call, so one test suite runs on
//! both backends.
//!
//! - `GRIDLINE_TEST_DATABASE`: a PostgreSQL URL whose user may `CREATE DATABASE`;
//! - `GRIDLINE_TEST_MEDIA`: an `s3://bucket?endpoint=…` location (credentials in `AWS_*`).

use std::path::Path;

use crate::config::{Database, MediaLocation, Storage};

/// The variable naming the PostgreSQL server tests create their databases on.
pub const DATABASE_VAR: &str = "GRIDLINE_TEST_DATABASE";
/// The variable naming the S3 bucket tests keep photos in.
pub const MEDIA_VAR: &str = "GRIDLINE_TEST_MEDIA";

/// Storage for one test: `data_dir` for whatever stays local, plus a new database and a new
/// key prefix when the environment names city backends. Panics (it is for tests) when those
/// cannot be set up.
pub fn storage(data_dir: &Path) -> Storage {
    let mut storage = Storage::local(data_dir);
    let tag = format!("gl_{:016x}", rand::random::<u64>());
    if let Some(url) = std::env::var(DATABASE_VAR).ok().filter(|v| !v.is_empty()) {
        storage.database = Database::parse(&fresh_database(&url, &tag))
            .unwrap_or_else(|e| panic!("{DATABASE_VAR}: {e}"));
    }
    if let Some(media) = std::env::var(MEDIA_VAR).ok().filter(|v| !v.is_empty()) {
        let mut location =
            MediaLocation::parse(&media).unwrap_or_else(|e| panic!("{MEDIA_VAR}: {e}"));
        if let MediaLocation::S3(s3) = &mut location {
            s3.prefix = if s3.prefix.is_empty() {
                tag
            } else {
                format!("{}/{tag}", s3.prefix)
            };
        }
        storage.media = location;
    }
    storage
}

/// Which backends the tests of this process use, e.g. `"sqlite+local"`.
pub fn backends() -> String {
    let database = match std::env::var(DATABASE_VAR) {
        Ok(v) if !v.is_empty() => "postgres",
        _ => "sqlite",
    };
    let media = match std::env::var(MEDIA_VAR) {
        Ok(v) if !v.is_empty() => "s3",
        _ => "local",
    };
    format!("{database}+{media}")
}

/// Creates database `name` on the server of `admin_url`; returns its URL. Runs on a thread of
/// its own, so async tests may call it (the blocking client cannot run inside a runtime).
fn fresh_database(admin_url: &str, name: &str) -> String {
    let (url, db) = (admin_url.to_string(), name.to_string());
    std::thread::spawn(move || create_database(&url, &db))
        .join()
        .unwrap_or_else(|_| panic!("creating test database {name} failed"))
}

fn create_database(admin_url: &str, name: &str) -> String {
    let mut client = postgres::Client::connect(admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{DATABASE_VAR}={admin_url}: cannot connect: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let mut url =
        url::Url::parse(admin_url).unwrap_or_else(|e| panic!("{DATABASE_VAR} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}
