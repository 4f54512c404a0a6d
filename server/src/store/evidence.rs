//! The evidence half of the store: device signing keys (registered by riders' devices,
//! listed and revoked by administrators) and each ticket's evidence record. One trait, a
//! supertrait of [`super::Store`], implemented per backend in `sqlite_evidence.rs` and
//! `postgres_evidence.rs`; the decisions both make the same way live here.

use gridline_protocol::Timestamp;
use gridline_protocol::evidence::{DeviceKey, SignatureAlgorithm, TicketEvidence};

use super::StoreError;
use super::rules::corrupt;
use crate::account::User;

/// The `signal` filter value that matches a ticket with any fraud signal.
pub const ANY_SIGNAL: &str = "any";

/// A key a device asks to register, already checked ([`gridline_protocol::evidence::parse_public_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeviceKey {
    /// [`gridline_protocol::evidence::key_id`] of `public_key`.
    pub key_id: String,
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// Raw public key bytes.
    pub public_key: Vec<u8>,
}

/// A registered key with what verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeviceKey {
    /// The account that registered it.
    pub owner_id: i64,
    /// Raw public key bytes.
    pub public_key: Vec<u8>,
    /// The key as the API describes it.
    pub key: DeviceKey,
}

/// What came of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRegistration {
    /// New for this account.
    Registered(DeviceKey),
    /// This account had registered it already (a resend): nothing changed.
    Already(DeviceKey),
    /// Another account registered this key; it stays theirs.
    Taken,
    /// This account's key, revoked by an administrator: it stays revoked.
    Revoked(DeviceKey),
}

/// A `device_keys` row joined with its owner's name.
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Key id.
    pub key_id: String,
    /// Owner account id.
    pub owner_id: i64,
    /// Owner account name.
    pub owner: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Raw public key.
    pub public_key: Vec<u8>,
    /// Milliseconds since the epoch.
    pub registered_at: i64,
    /// Milliseconds since the epoch.
    pub revoked_at: Option<i64>,
}

impl KeyRow {
    /// The stored key.
    pub fn into_stored(self) -> Result<StoredDeviceKey, StoreError> {
        let algorithm = SignatureAlgorithm::parse(&self.algorithm)
            .ok_or_else(|| corrupt(format!("device key algorithm {:?}", self.algorithm)))?;
        Ok(StoredDeviceKey {
            owner_id: self.owner_id,
            key: DeviceKey {
                key_id: self.key_id,
                algorithm,
                public_key: gridline_protocol::evidence::hex(&self.public_key),
                account: self.owner,
                registered_at: Timestamp::from_millis(self.registered_at),
                revoked_at: self.revoked_at.map(Timestamp::from_millis),
            },
            public_key: self.public_key,
        })
    }
}

/// What a registration means given the row now stored under its key id (`inserted`: this
/// call wrote it).
pub fn registration(user: &User, stored: StoredDeviceKey, inserted: bool) -> KeyRegistration {
    if stored.owner_id != user.id {
        KeyRegistration::Taken
    } else if stored.key.revoked_at.is_some() {
        KeyRegistration::Revoked(stored.key)
    } else if inserted {
        KeyRegistration::Registered(stored.key)
    } else {
        KeyRegistration::Already(stored.key)
    }
}

/// The columns of `ticket_evidence` a backend reads, as [`evidence_from_row`] takes them.
pub const EVIDENCE_COLUMNS: &str = "signature, key_id, detail, checked_at, signals";

/// The signals of a record as stored (JSON).
pub fn signals_json(evidence: &TicketEvidence) -> String {
    serde_json::to_string(&evidence.signals).unwrap_or_else(|_| "[]".into())
}

/// A stored evidence record.
pub fn evidence_from_row(
    signature: &str,
    key_id: Option<String>,
    detail: String,
    checked_at: i64,
    signals: &str,
) -> Result<TicketEvidence, StoreError> {
    Ok(TicketEvidence {
        signals: serde_json::from_str(signals).map_err(corrupt)?,
        signature: gridline_protocol::evidence::SignatureCheck::parse(signature)
            .ok_or_else(|| corrupt(format!("signature check {signature:?}")))?,
        key_id,
        detail,
        checked_at: Timestamp::from_millis(checked_at),
    })
}

/// Device keys and their administration.
pub trait EvidenceStore {
    /// Registers `key` for `user`, unless some account holds that key id already.
    fn register_device_key(
        &self,
        user: &User,
        key: &NewDeviceKey,
        now: Timestamp,
    ) -> Result<KeyRegistration, StoreError>;

    /// The key registered under `key_id`, revoked or not.
    fn device_key(&self, key_id: &str) -> Result<Option<StoredDeviceKey>, StoreError>;

    /// Every registered key (of `account` only, when named), oldest first.
    fn device_keys(&self, account: Option<&str>) -> Result<Vec<DeviceKey>, StoreError>;

    /// Revokes `key_id` (reports signed with it from now on are `revoked_key`; tickets already
    /// received keep their record). Revoking twice keeps the first time. `None`: no such key.
    fn revoke_device_key(
        &self,
        key_id: &str,
        now: Timestamp,
    ) -> Result<Option<DeviceKey>, StoreError>;

    /// The report of `user`'s most recently received ticket other than `report_id`'s (for the
    /// impossible-speed signal).
    fn latest_report_of(
        &self,
        user: &User,
        report_id: &str,
    ) -> Result<Option<gridline_protocol::Report>, StoreError>;

    /// The first ticket row, of any account, whose report lists photo `sha256`, other than
    /// `report_id`'s (for the photo-reused signal).
    fn ticket_using_photo(&self, sha256: &str, report_id: &str) -> Result<Option<i64>, StoreError>;
}
