package org.gridline.sdk

import org.gridline.core.DeviceSigner

/** The scheme of a device signing key (Ed25519 today). */
typealias SignatureAlgorithm = org.gridline.protocol.SignatureAlgorithm

/** Why the app's [Signer] could not answer; Gridline maps any exception of yours to it. */
typealias DeviceSignerException = org.gridline.core.DeviceSignerException

/**
 * The app's own device signing key, e.g. an Ed25519 key in the Android Keystore: the private
 * half never leaves it. Gridline asks for [publicKey] once ([Gridline.setSigner]; the next sync
 * registers it with the server) and calls [sign] at every [Gridline.submit] with the report's
 * 32-byte digest, on the submitting thread: answer promptly, never prompt the user.
 *
 * Throwing is fine: from [sign] the report is queued unsigned (the server records it as
 * `unsigned`), never lost; from [publicKey] [Gridline.setSigner] fails and the key in use stays.
 */
interface Signer {
    /** The key's scheme. */
    val algorithm: SignatureAlgorithm get() = SignatureAlgorithm.ED25519

    /** The raw public key: 32 bytes for Ed25519 (on the JVM, the last 32 bytes of `PublicKey.encoded`). */
    fun publicKey(): ByteArray

    /** Signs [digest] and returns the raw signature (64 bytes for Ed25519). */
    fun sign(digest: ByteArray): ByteArray
}

/** Adapts a [Signer] to the FFI's trait; any exception becomes `DeviceSignerException.Unavailable`. */
internal fun Signer.asDeviceSigner(): DeviceSigner = object : DeviceSigner {
    // No error channel here: a getter that throws falls back to the only scheme there is.
    override fun algorithm(): SignatureAlgorithm =
        runCatching { this@asDeviceSigner.algorithm }.getOrDefault(SignatureAlgorithm.ED25519)

    override fun publicKey(): ByteArray = guarded { this@asDeviceSigner.publicKey() }

    override fun sign(digest: ByteArray): ByteArray = guarded { this@asDeviceSigner.sign(digest) }
}

private inline fun <T> guarded(block: () -> T): T =
    try {
        block()
    } catch (e: DeviceSignerException) {
        throw e
    } catch (e: Exception) {
        throw org.gridline.core.DeviceSignerException.Unavailable(e.message ?: e.javaClass.simpleName)
    }
