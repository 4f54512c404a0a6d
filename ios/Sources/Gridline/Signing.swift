import Foundation
import GridlineFFI

/// The app's own device signing key, mirroring the Kotlin SDK's `Signer`: Gridline asks for
/// ``publicKey()`` once (``Gridline/setSigner(_:)``; the next sync registers it with the server)
/// and calls ``sign(digest:)`` at every submit with the report's 32-byte digest, on the
/// submitting queue: answer promptly, never prompt the user.
///
/// The Secure Enclave holds only P-256 keys; for Ed25519 use CryptoKit's
/// `Curve25519.Signing.PrivateKey` with its raw representation kept in the Keychain (this
/// device only). Throwing is fine: from `sign` the report is queued unsigned (the server
/// records it as `unsigned`), never lost; from `publicKey` `setSigner` fails and the key in
/// use stays.
public protocol Signer: Sendable {
    /// The key's scheme.
    var algorithm: SignatureAlgorithm { get }
    /// The raw public key (32 bytes for Ed25519: `publicKey.rawRepresentation`).
    func publicKey() throws -> Data
    /// Signs `digest` and returns the raw signature (64 bytes for Ed25519).
    func sign(digest: Data) throws -> Data
}

extension Signer {
    /// Ed25519, the only scheme there is today.
    public var algorithm: SignatureAlgorithm { .ed25519 }
}

/// Adapts a ``Signer`` to the bindings' `DeviceSigner`; any error becomes
/// `DeviceSignerError.Unavailable`, which leaves the report unsigned.
final class SignerAdapter: DeviceSigner, Sendable {
    private let signer: any Signer

    init(_ signer: any Signer) { self.signer = signer }

    func algorithm() -> SignatureAlgorithm { signer.algorithm }

    func publicKey() throws -> Data {
        try guarded { try signer.publicKey() }
    }

    func sign(digest: Data) throws -> Data {
        try guarded { try signer.sign(digest: digest) }
    }

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DeviceSignerError {
            throw error
        } catch {
            throw DeviceSignerError.Unavailable(reason: String(describing: error))
        }
    }
}
