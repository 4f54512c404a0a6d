//! The app's own signing key (Android Keystore, iOS Secure Enclave) as a foreign trait, and its
//! adapter to the core's [`Signer`]. The key never leaves the platform: the core hands it the
//! 32-byte digest of a report at submit and asks for its public half to register it.
//!
//! Whatever the app's signer does wrong (throws, answers garbage, signs with another key) costs
//! nothing but the signature: `sign_report` checks the answer and the report is queued unsigned.

use std::sync::Arc;

use gridline_protocol::evidence::SignatureAlgorithm;
use uniffi::UnexpectedUniFFICallbackError;

use crate::evidence::{Signer, SignerError};

/// Why the app's signer could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DeviceSignerError {
    /// The key is gone, the keystore is locked, the platform refused.
    #[error("the device signer failed: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl From<UnexpectedUniFFICallbackError> for DeviceSignerError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        // An exception escaping the app's signer: the report is queued unsigned, never lost.
        DeviceSignerError::Unavailable { reason: e.reason }
    }
}

/// A device signing key the app holds (Kotlin interface, Swift protocol). Called on the
/// thread of `submit` (one digest per report) and of `set_signer` (the public key), so it
/// must answer promptly and never prompt the user.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The key's scheme (only Ed25519 today).
    fn algorithm(&self) -> SignatureAlgorithm;
    /// The raw public key (32 bytes for Ed25519; on the JVM the last 32 bytes of the X.509
    /// encoding).
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError>;
    /// Signs `digest` (32 bytes) and returns the raw signature (64 bytes for Ed25519).
    fn sign(&self, digest: Vec<u8>) -> Result<Vec<u8>, DeviceSignerError>;
}

/// The app's signer as the core's.
pub struct ForeignSigner(pub Arc<dyn DeviceSigner>);

impl Signer for ForeignSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }

    fn public_key(&self) -> Result<Vec<u8>, SignerError> {
        self.0.public_key().map_err(|e| SignerError(e.to_string()))
    }

    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.0
            .sign(digest.to_vec())
            .map_err(|e| SignerError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::SoftwareSigner;

    struct Locked;
    impl DeviceSigner for Locked {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::Ed25519
        }
        fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
            Ok(SoftwareSigner::generate().public_bytes().to_vec())
        }
        fn sign(&self, _: Vec<u8>) -> Result<Vec<u8>, DeviceSignerError> {
            Err(UnexpectedUniFFICallbackError::new("keystore locked").into())
        }
    }

    #[test]
    fn a_failing_device_signer_is_a_signer_error_with_its_reason() {
        let e = ForeignSigner(Arc::new(Locked)).sign(&[0; 32]).unwrap_err();
        assert!(e.0.contains("keystore locked"), "{e}");
    }
}
