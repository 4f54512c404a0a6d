package org.gridline.sdk

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * The app's own signing key (issue 17) on the real JVM, library and reference server: a
 * Kotlin [Signer] over the JDK's Ed25519 (standing in for the Android Keystore) signs reports
 * the server records as `valid`; a signer that throws costs the signature, never the report.
 */
class SignerTest {
    @TempDir
    lateinit var dir: File

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    /** An Ed25519 key of the JDK's; [failing] makes every signature throw (a locked keystore). */
    private class JdkSigner(private val failing: Boolean = false) : Signer {
        private val pair: KeyPair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair()
        val signed = AtomicInteger()

        // The X.509 encoding ends with the raw 32-byte key.
        override fun publicKey(): ByteArray = pair.public.encoded.takeLast(32).toByteArray()

        override fun sign(digest: ByteArray): ByteArray {
            check(!failing) { "keystore locked" }
            signed.incrementAndGet()
            return Signature.getInstance("Ed25519").run {
                initSign(pair.private)
                update(digest)
                sign()
            }
        }
    }

    /** What the server recorded about the signature of [reportId]'s ticket (`valid`, `unsigned`, ...). */
    private suspend fun outcome(server: TestServer, token: String, g: Gridline, reportId: String): String {
        val ticket = g.get(reportId).ticketId ?: error("report $reportId has no ticket")
        val request = HttpRequest.newBuilder(URI.create("${server.url}/v1/tickets/$ticket"))
            .header("Authorization", "Bearer $token")
            .build()
        val response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, response.statusCode(), response.body())
        // The ticket's evidence record: {"signature": "<outcome>", "key_id": ..., "detail": ...}.
        val found = Regex("\"evidence\"\\s*:\\s*\\{\\s*\"signature\"\\s*:\\s*\"(\\w+)\"").find(response.body())
        return found?.groupValues?.get(1) ?: error("no evidence in ${response.body()}")
    }

    @Test
    fun `a Kotlin Ed25519 signer signs reports the server verifies`() = runBlocking {
        TestServer().start().use { server ->
            val token = server.addUser("li", "rider")
            open("li").use { g ->
                val signer = JdkSigner()
                val keyId = g.setSigner(signer)
                assertEquals(32, keyId.length, keyId)
                assertEquals(keyId, g.signingKeyId())
                val (report) = Fixtures.potholes(g, 1)
                assertEquals(1, signer.signed.get())
                g.setServer(server.url, { token })
                val summary = g.syncNow()
                assertEquals(1L, summary.sent, "$summary")
                assertEquals("valid", outcome(server, token, g, report))

                // Rotation to a fresh software key: a new id, and its reports verify too.
                val rotated = g.rotateSigningKey()
                assertNotEquals(keyId, rotated)
                val (after) = Fixtures.potholes(g, 1)
                assertEquals(1L, g.syncNow().sent)
                assertEquals("valid", outcome(server, token, g, after))
                assertEquals(1, signer.signed.get(), "the app's key is no longer asked")
            }
        }
    }

    @Test
    fun `a throwing signer leaves the report filed unsigned, nothing lost`() = runBlocking {
        TestServer().start().use { server ->
            val token = server.addUser("wang", "rider")
            open("wang").use { g ->
                g.setSigner(JdkSigner(failing = true))
                val (report) = Fixtures.potholes(g, 1)
                assertEquals(ReportState.QUEUED, g.get(report).state)
                g.setServer(server.url, { token })
                assertEquals(1L, g.syncNow().sent)
                assertEquals(ReportState.ACCEPTED, g.get(report).state)
                assertEquals("unsigned", outcome(server, token, g, report))
            }
        }
    }

    @Test
    fun `a signer whose public key throws is refused and the key in use stays`() = runBlocking {
        open("zhao").use { g ->
            val before = g.signingKeyId()
            val broken = object : Signer {
                override fun publicKey(): ByteArray = throw IllegalStateException("no key in the keystore")

                override fun sign(digest: ByteArray): ByteArray = error("never asked")
            }
            val e = assertThrows<GridlineException> { runBlocking { g.setSigner(broken) } }
            assertTrue(e.message.orEmpty().contains("no key in the keystore"), e.message)
            assertEquals(before, g.signingKeyId())
        }
    }
}
