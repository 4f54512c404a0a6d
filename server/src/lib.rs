//! The reference city grid server for Gridline, speaking wire protocol v1 (`docs/protocol.md`).
//!
//! Embedded SQLite and a media folder in one data directory by default, behind the
//! [`store::Store`] trait so a PostgreSQL backend can plug in.
//!
//! ```no_run
//! use gridline_server::{Config, Role, Server, admin};
//! # fn main() -> Result<(), gridline_server::ServerError> {
//! let dir = std::path::Path::new("/tmp/district");
//! admin::import_grids(dir, &std::fs::read_to_string("grids.geojson")?)?;
//! let rider = admin::add_user(dir, &admin::NewUser {
//!     name: "li.wei".into(), role: Role::Rider, grids: vec![], expires_at: None,
//! })?;
//! let server = Server::start(Config::new(dir))?; // 127.0.0.1, a free port
//! println!("{} (token {})", server.base_url(), rider.token);
//! server.shutdown()?;
//! # Ok(()) }
//! ```

pub mod account;
pub mod admin;
pub mod auth;
pub mod backends;
pub mod clock;
pub mod config;
pub mod console;
pub mod duplicates;
pub mod error;
pub mod evidence;
mod extract;
pub mod grids;
pub mod lifecycle;
pub mod listen;
pub mod media;
pub mod metrics;
mod middleware;
pub mod open311;
pub mod rate_limit;
mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod task;
pub mod testing;
pub mod upstream;

pub use account::Role;
pub use config::Config;
pub use config::RateLimit;
pub use error::ServerError;
pub use grids::{GridLocator, LocatorFactory};
pub use routes::ROUTES;
pub use routes::reports::{Admission, admit_batch, admit_report};
pub use server::{BoundServer, RunningServer, Server, serve_until_signal};
