//! Device-signed evidence: who holds the installation's signing key and how a report is signed
//! at submit. The platform shells keep the key in the Android Keystore or the iOS Secure
//! Enclave through a [`Signer`] of their own; [`SoftwareSigner`] is the default for the CLI,
//! tests and desktop, with its secret in the device database (docs/decisions/0060).
//!
//! What is signed is [`gridline_protocol::evidence::canonical_digest`], the very function the
//! server verifies with.

use std::sync::Arc;

use ed25519_dalek::Signer as _;
use gridline_protocol::Report;
use gridline_protocol::evidence::{
    self, DIGEST_VERSION, ReportSignature, SignatureAlgorithm, hex, key_id,
};

/// Why a signer could not sign (the key is gone, the keystore is locked, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot sign: {0}")]
pub struct SignerError(pub String);

/// Holds a device signing key and signs digests with it. Implementations must be thread-safe;
/// the core calls them at submit (one 32-byte digest per report) and at sync (the public key).
pub trait Signer: Send + Sync {
    /// The scheme of the key.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// The public key's raw bytes (32 for Ed25519).
    fn public_key(&self) -> Result<Vec<u8>, SignerError>;
    /// Signs `digest`, returning the raw signature (64 bytes for Ed25519).
    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// An Ed25519 key held in memory (its secret lives in the device database).
pub struct SoftwareSigner {
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("SoftwareSigner")
            .field("key_id", &key_id(self.key.verifying_key().as_bytes()))
            .finish()
    }
}

impl SoftwareSigner {
    /// A new random key.
    pub fn generate() -> Self {
        Self::from_secret(&rand::random::<[u8; 32]>())
    }

    /// The key with this 32-byte secret seed.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        SoftwareSigner {
            key: ed25519_dalek::SigningKey::from_bytes(secret),
        }
    }

    /// The secret seed, for the store.
    pub fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public key's bytes.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ed25519
    }

    fn public_key(&self) -> Result<Vec<u8>, SignerError> {
        Ok(self.public_bytes().to_vec())
    }

    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.key.sign(digest).to_bytes().to_vec())
    }
}

/// A signer's public identity: what the server registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// [`key_id`] of the bytes.
    pub key_id: String,
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// Raw public key.
    pub bytes: Vec<u8>,
}

/// The public identity of `signer`.
pub fn public_key_of(signer: &dyn Signer) -> Result<PublicKey, SignerError> {
    let bytes = signer.public_key()?;
    Ok(PublicKey {
        key_id: key_id(&bytes),
        algorithm: signer.algorithm(),
        bytes,
    })
}

/// Signs `report` (whose every other field is final) with `signer`, and checks the signature
/// against the signer's own public key before trusting it: a broken platform signer is caught
/// here, on the device, not weeks later by an auditor.
pub fn sign_report(
    signer: &Arc<dyn Signer>,
    report: &mut Report,
) -> Result<PublicKey, SignerError> {
    report.signature = None;
    let public = public_key_of(signer.as_ref())?;
    let digest = evidence::canonical_digest(report);
    let signature = signer.sign(&digest)?;
    report.signature = Some(ReportSignature {
        algorithm: public.algorithm,
        key_id: public.key_id.clone(),
        digest_version: DIGEST_VERSION,
        signature: hex(&signature),
    });
    if let Err(e) = evidence::verify(report, public.algorithm, &public.bytes) {
        report.signature = None;
        return Err(SignerError(format!(
            "the signer's signature does not verify with its own public key: {e}"
        )));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridline_protocol::{CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp};

    fn report() -> Report {
        Report {
            id: uuid::Uuid::now_v7(),
            kind: ReportKind::RoadDamage,
            category: "pothole".into(),
            note: String::new(),
            severity: Default::default(),
            location: LocationFix {
                lat: 30.0,
                lon: 120.0,
                accuracy_m: 5.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: Timestamp::from_millis(1_700_000_000_000),
                mock: false,
                source_crs: CoordSystem::Wgs84,
            },
            location_warnings: vec![],
            grid_id: None,
            attributes: Default::default(),
            outreach: None,
            photos: vec![],
            reporter: "r".into(),
            created_at: Timestamp::from_millis(1_700_000_000_000),
            submitted_at: Timestamp::from_millis(1_700_000_000_000),
            app_version: String::new(),
            signature: None,
        }
    }

    #[test]
    fn a_software_signature_verifies_and_survives_its_secret_round_trip() {
        let signer = SoftwareSigner::generate();
        let again = SoftwareSigner::from_secret(&signer.secret());
        assert_eq!(signer.public_bytes(), again.public_bytes());
        let signer: Arc<dyn Signer> = Arc::new(again);
        let mut r = report();
        let public = sign_report(&signer, &mut r).unwrap();
        assert_eq!(public.key_id, r.signature.as_ref().unwrap().key_id);
        evidence::verify(&r, SignatureAlgorithm::Ed25519, &public.bytes).unwrap();
        assert!(!format!("{:?}", SoftwareSigner::generate()).contains("secret"));
    }

    /// A platform signer that signs with one key but reports another.
    struct Confused(SoftwareSigner, SoftwareSigner);

    impl Signer for Confused {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::Ed25519
        }
        fn public_key(&self) -> Result<Vec<u8>, SignerError> {
            self.1.public_key()
        }
        fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
            self.0.sign(digest)
        }
    }

    /// A platform signer that answers garbage.
    struct Garbage;

    impl Signer for Garbage {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::Ed25519
        }
        fn public_key(&self) -> Result<Vec<u8>, SignerError> {
            Ok(vec![1, 2, 3])
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignerError> {
            Ok(vec![])
        }
    }

    #[test]
    fn a_broken_platform_signer_leaves_the_report_unsigned_with_an_error() {
        let confused: Arc<dyn Signer> = Arc::new(Confused(
            SoftwareSigner::generate(),
            SoftwareSigner::generate(),
        ));
        let garbage: Arc<dyn Signer> = Arc::new(Garbage);
        for signer in [confused, garbage] {
            let mut r = report();
            assert!(sign_report(&signer, &mut r).is_err());
            assert_eq!(r.signature, None);
        }
    }
}
