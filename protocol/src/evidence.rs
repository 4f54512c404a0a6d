//! Device-signed evidence: the canonical digest of a report, the signature a device key makes
//! over it, and the check a server runs. Device and server both call these functions, so what
//! is signed and what is verified cannot drift apart (docs/decisions/0061-signed-evidence.md).
//!
//! The digest is SHA-256 over a length-prefixed binary encoding of every field of the report
//! except the signature itself, in a fixed order, behind a domain tag that names its version.
//! Binary (not JSON) so that no serializer's choices (key order, float text, escaping) can
//! change it; floats are their IEEE-754 bits, which JSON carries exactly both ways.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{AttrValue, FieldError, Report};

/// The digest format this build makes. It also checks the formats before it: a report
/// queued on a device before an update still verifies after it.
pub const DIGEST_VERSION: i64 = 2;

/// Prefixed to every digest input: what the bytes are and which version of the format.
/// Version 2 adds each photo's EXIF facts ([`crate::PhotoExif`]).
const DOMAIN_V1: &[u8] = b"gridline/report-digest/v1\0";
const DOMAIN_V2: &[u8] = b"gridline/report-digest/v2\0";

/// The signature schemes a device key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032) over the 32-byte digest; 32-byte public keys, 64-byte signatures.
    Ed25519,
}

impl SignatureAlgorithm {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        (text == "ed25519").then_some(Self::Ed25519)
    }
}

/// A device's signature over a report's canonical digest, carried inside the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReportSignature {
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// The signing key's id ([`key_id`] of its public key), as registered with the server.
    pub key_id: String,
    /// The digest format signed ([`DIGEST_VERSION`]).
    pub digest_version: i64,
    /// The signature, lowercase hex (128 digits for Ed25519).
    pub signature: String,
}

/// `POST /v1/device-keys`: a device registers the public half of its signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeyRegistration {
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// The public key, lowercase hex (64 digits for Ed25519).
    pub public_key: String,
}

/// A registered device key as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// [`key_id`] of the public key.
    pub key_id: String,
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// The public key, lowercase hex.
    pub public_key: String,
    /// The account it belongs to.
    pub account: String,
    /// When it was first registered.
    pub registered_at: crate::Timestamp,
    /// When an administrator revoked it, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<crate::Timestamp>,
}

/// What the server found when it checked a report's signature at ingest. Recorded once, with
/// the ticket: revoking a key later does not rewrite what was found before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SignatureCheck {
    /// Signed by a key registered to the submitting account and not revoked; the report is
    /// exactly what the device signed.
    Valid,
    /// No signature (a device that predates signing, or whose signer failed).
    Unsigned,
    /// Signed by a key the server does not know for this account.
    UnknownKey,
    /// Signed by a key an administrator had revoked before the report arrived.
    RevokedKey,
    /// The signature does not match the report: it was changed after signing (or the
    /// signature is unreadable).
    Mismatch,
}

impl SignatureCheck {
    /// Every value, in the order above.
    pub const ALL: [SignatureCheck; 5] = [
        Self::Valid,
        Self::Unsigned,
        Self::UnknownKey,
        Self::RevokedKey,
        Self::Mismatch,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Unsigned => "unsigned",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::Mismatch => "mismatch",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The evidence record of a ticket: what the signature check found, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TicketEvidence {
    /// The outcome.
    pub signature: SignatureCheck,
    /// The key the report named, if it was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Why, in words for a supervisor.
    pub detail: String,
    /// When the server checked.
    pub checked_at: crate::Timestamp,
    /// Fraud signals the server found at ingest (none blocks the report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<FraudSignal>,
}

/// How much a fraud signal should worry a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SignalSeverity {
    /// Worth a look.
    Warning,
    /// Likely not what it claims.
    High,
}

/// One reason to doubt a report, for a supervisor: informs, never blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FraudSignal {
    /// Stable snake_case name (`mock_location`, `stale_fix`, `photo_reused`, `impossible_speed`).
    pub name: String,
    /// How much it should worry.
    pub severity: SignalSeverity,
    /// What was found, in words.
    pub explanation: String,
}

/// Why a signature does not verify against a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The report carries no signature.
    #[error("the report is not signed")]
    Unsigned,
    /// The signature, key or digest version is not in a form this build reads.
    #[error("unreadable signature: {0}")]
    Malformed(String),
    /// Well formed, but not this report's digest signed by this key: the report (or the
    /// signature) changed after signing, or another key signed it.
    #[error("the signature does not match the report")]
    Mismatch,
}

/// The canonical digest of `report` (format [`DIGEST_VERSION`]): what a device signs.
pub fn canonical_digest(report: &Report) -> [u8; 32] {
    Sha256::digest(canonical_bytes(report)).into()
}

/// The bytes [`canonical_digest`] hashes, in the order documented in docs/protocol.md.
pub fn canonical_bytes(report: &Report) -> Vec<u8> {
    encode(report, true)
}

/// The digest of `report` in format `version`; `None` for a version this build does not
/// know, or for version 1 when a photo carries EXIF facts (which version 1 cannot cover, so
/// a signature in it would vouch for less than the report says).
pub fn digest_of_version(report: &Report, version: i64) -> Option<[u8; 32]> {
    let bytes = match version {
        1 if report.photos.iter().all(|p| p.exif.is_none()) => encode(report, false),
        2 => encode(report, true),
        _ => return None,
    };
    Some(Sha256::digest(bytes).into())
}

/// The digest input: version 2 when `with_exif`, else version 1.
fn encode(report: &Report, with_exif: bool) -> Vec<u8> {
    let mut e = Encoder(Vec::with_capacity(512));
    e.0.extend_from_slice(if with_exif { DOMAIN_V2 } else { DOMAIN_V1 });
    e.0.extend_from_slice(report.id.as_bytes());
    e.str(report.kind.as_str());
    e.str(&report.category);
    e.str(&report.note);
    e.str(report.severity.as_str());
    let l = &report.location;
    e.f64(l.lat);
    e.f64(l.lon);
    e.f64(l.accuracy_m);
    e.opt(l.altitude_m.as_ref(), |e, a| e.f64(*a));
    e.str(l.provider.as_str());
    e.bool(l.mock);
    e.i64(l.fix_time.as_millis());
    e.str(l.source_crs.as_str());
    e.len(report.location_warnings.len());
    for w in &report.location_warnings {
        e.str(w);
    }
    e.opt(report.grid_id.as_ref(), |e, g| e.str(g));
    e.len(report.attributes.len());
    for (key, value) in &report.attributes {
        e.str(key);
        match value {
            AttrValue::Number(n) => {
                e.0.push(0);
                e.f64(*n);
            }
            AttrValue::Text(t) => {
                e.0.push(1);
                e.str(t);
            }
            AttrValue::List(items) => {
                e.0.push(2);
                e.len(items.len());
                for item in items {
                    e.str(item);
                }
            }
        }
    }
    e.opt(report.outreach.as_ref(), |e, o| {
        e.u64(u64::from(o.people_reached));
        e.u64(u64::from(o.materials_handed_out));
        e.str(o.venue_type.as_str());
    });
    e.len(report.photos.len());
    for p in &report.photos {
        // The hash as text: a malformed one (refused by validation anyway) still digests.
        e.str(&p.sha256);
        e.u64(p.bytes);
        e.u64(u64::from(p.width));
        e.u64(u64::from(p.height));
        if with_exif {
            e.opt(p.exif.as_ref(), |e, x| {
                e.opt(x.captured_at.as_ref(), |e, t| e.i64(t.as_millis()));
                e.opt(x.gps_distance_m.as_ref(), |e, d| e.i64(*d));
                e.bool(x.camera);
            });
        }
    }
    e.str(&report.reporter);
    e.i64(report.created_at.as_millis());
    e.i64(report.submitted_at.as_millis());
    e.str(&report.app_version);
    e.0
}

/// The id of a public key: the first 16 bytes of its SHA-256, lowercase hex (32 digits).
pub fn key_id(public_key: &[u8]) -> String {
    hex(&Sha256::digest(public_key)[..16])
}

/// Checks `report`'s signature against `public_key` (raw bytes for `algorithm`). The caller
/// has already matched the signature's key id to the key.
pub fn verify(
    report: &Report,
    algorithm: SignatureAlgorithm,
    public_key: &[u8],
) -> Result<(), SignatureError> {
    // An unsigned report is told apart before the key is even read.
    report.signature.as_ref().ok_or(SignatureError::Unsigned)?;
    verify_with(report, &VerifyingKey::parse(algorithm, public_key)?)
}

/// A device public key decoded once, to check many reports with (a server checks a batch of
/// reports signed by one device with one decoded key: decoding costs a third of a check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    algorithm: SignatureAlgorithm,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifyingKey {
    /// Decodes raw key bytes for `algorithm`.
    pub fn parse(algorithm: SignatureAlgorithm, public_key: &[u8]) -> Result<Self, SignatureError> {
        match algorithm {
            SignatureAlgorithm::Ed25519 => {
                let bytes: [u8; 32] = public_key
                    .try_into()
                    .map_err(|_| SignatureError::Malformed("an Ed25519 key is 32 bytes".into()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|e| SignatureError::Malformed(format!("public key: {e}")))?;
                Ok(Self { algorithm, key })
            }
        }
    }
}

/// Checks `report`'s signature against a decoded key (see [`verify`]).
pub fn verify_with(report: &Report, key: &VerifyingKey) -> Result<(), SignatureError> {
    let sig = report.signature.as_ref().ok_or(SignatureError::Unsigned)?;
    if !(1..=DIGEST_VERSION).contains(&sig.digest_version) {
        return Err(SignatureError::Malformed(format!(
            "digest version {} is not one of 1 to {DIGEST_VERSION}",
            sig.digest_version
        )));
    }
    if sig.algorithm != key.algorithm {
        return Err(SignatureError::Mismatch);
    }
    // A version-1 signature over a report with EXIF facts cannot vouch for them.
    let digest = digest_of_version(report, sig.digest_version).ok_or(SignatureError::Mismatch)?;
    match key.algorithm {
        SignatureAlgorithm::Ed25519 => {
            let bytes: [u8; 64] = unhex(&sig.signature)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    SignatureError::Malformed("an Ed25519 signature is 128 hex digits".into())
                })?;
            let signature = ed25519_dalek::Signature::from_bytes(&bytes);
            key.key
                .verify_strict(&digest, &signature)
                .map_err(|_| SignatureError::Mismatch)
        }
    }
}

/// Checks a registration's shape and returns the raw public key.
pub fn parse_public_key(reg: &DeviceKeyRegistration) -> Result<Vec<u8>, FieldError> {
    match reg.algorithm {
        SignatureAlgorithm::Ed25519 => {
            let bytes: [u8; 32] = unhex(&reg.public_key)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    FieldError::new("public_key", "an Ed25519 key is 64 lowercase hex digits")
                })?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| FieldError::new("public_key", "is not a valid Ed25519 point"))?;
            Ok(bytes.to_vec())
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The bytes of lowercase hex text; `None` for odd lengths or other characters.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// True when `text` has the shape of a [`key_id`].
pub fn is_key_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The digest input under construction: fixed-width big-endian numbers, strings and lists
/// prefixed by their length, options by a presence byte.
struct Encoder(Vec<u8>);

impl Encoder {
    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }
    fn i64(&mut self, n: i64) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn bool(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                f(self, v);
            }
        }
    }
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
