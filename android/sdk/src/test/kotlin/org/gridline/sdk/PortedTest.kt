package org.gridline.sdk

import java.io.File
import java.net.ServerSocket
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import okhttp3.OkHttpClient
import org.gridline.core.HttpRequest
import org.gridline.core.LogLevel
import org.gridline.core.TransportException
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** Logging, the OkHttp error mapping, hostile ids and the public API's types. */
class PortedTest {
    @TempDir
    lateinit var dir: File

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    @Test
    fun `a Kotlin logger receives the core's lines and a throwing one breaks nothing`() = runBlocking {
        TestServer().use { server ->
            val token = server.addUser("rider-l", "rider")
            server.start()
            open("rider-l").use { g ->
                val lines = CopyOnWriteArrayList<String>()
                GridlineLogging.install({ level, target, message -> lines += "$level $target $message" }, LogLevel.INFO)
                Fixtures.potholes(g, 2)
                g.setServer(server.url, { token })
                assertEquals(2L, g.syncNow().sent)
                assertTrue(lines.any { it.contains("gridline_core") && it.contains("sync: sent 2") }, "lines: $lines")

                GridlineLogging.install({ _, _, _ -> throw IllegalStateException("logger down") }, LogLevel.DEBUG)
                Fixtures.potholes(g, 1)
                assertEquals(1L, g.syncNow().sent, "a throwing logger did not break the sync")
                GridlineLogging.install({ _, _, _ -> }, LogLevel.ERROR)
            }
        }
    }

    private fun request(url: String, timeoutMs: Long = 5_000, maxResponseBytes: Long = 1L shl 20) =
        HttpRequest(
            method = "GET", url = url, headers = emptyMap(), body = ByteArray(0),
            timeoutMs = timeoutMs, maxResponseBytes = maxResponseBytes,
        )

    @Test
    fun `OkHttp reads an answer only one byte past the core's cap, gzip bomb or not`() = runBlocking<Unit> {
        // 8 MiB of spaces gzipped to a few KiB, and a body that claims 10 GiB.
        val bomb = java.io.ByteArrayOutputStream().also { out ->
            java.util.zip.GZIPOutputStream(out).use { it.write(ByteArray(8 shl 20) { ' '.code.toByte() }) }
        }.toByteArray()
        val server = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/bomb") { ex ->
            ex.responseHeaders.add("content-encoding", "gzip")
            ex.sendResponseHeaders(200, bomb.size.toLong())
            ex.responseBody.use { it.write(bomb) }
        }
        server.createContext("/huge") { ex ->
            ex.sendResponseHeaders(200, 0) // chunked: no length at all
            ex.responseBody.use { out -> repeat(64) { out.write(ByteArray(64 * 1024)) } }
        }
        server.start()
        try {
            val transport = OkHttpTransport(OkHttpClient())
            val base = "http://127.0.0.1:${server.address.port}"
            assertEquals(1001, transport.send(request("$base/bomb", maxResponseBytes = 1000)).body.size)
            assertEquals(1001, transport.send(request("$base/huge", maxResponseBytes = 1000)).body.size)
        } finally {
            server.stop(0)
        }
    }

    @Test
    fun `OkHttp failures map to Connection, Timeout and Refused`() = runBlocking<Unit> {
        val transport = OkHttpTransport(OkHttpClient())
        val closedPort = ServerSocket(0).use { it.localPort }
        assertThrows<TransportException.Connection> { runBlocking { transport.send(request("http://127.0.0.1:$closedPort/v1/limits")) } }
        BlackHole().use { hole ->
            assertThrows<TransportException.Timeout> { runBlocking { transport.send(request("${hole.url}/v1/limits", timeoutMs = 200)) } }
        }
        assertThrows<TransportException.Refused> { runBlocking { transport.send(request("ftp://127.0.0.1/v1/limits")) } }
        assertThrows<TransportException.Refused> { runBlocking { transport.send(request("not a url")) } }
    }

    @Test
    fun `path-traversal ids are refused and touch no file`() = runBlocking {
        open("rider-p").use { g ->
            val outside = File(dir, "outside.txt").apply { writeText("keep") }
            val id = assertThrows<ValidationException> { runBlocking { g.get("../outside.txt") } }
            assertEquals("id", id.field)
            assertThrows<ValidationException> { runBlocking { g.attachPhoto("../../etc/passwd", outside.path) } }
            assertThrows<ValidationException> { runBlocking { g.deleteDraft("..%2F..%2Foutside") } }
            assertThrows<NotFoundException> { runBlocking { g.photoPath("../outside.txt") } }
            assertThrows<NotFoundException> { runBlocking { g.photoPath("../../../etc/passwd", thumbnail = true) } }
            assertEquals("keep", outside.readText())
        }
    }

    /** Every public class the SDK and its generated bindings ship, uniffi's plumbing left out. */
    private fun publicApiClasses(): List<Class<*>> {
        val plumbing = Regex("FfiConverter|Uniffi|uniffi|RustBuffer|ForeignBytes|NoPointer|Disposable|UniFFI|IntegrityChecking|\\$")
        // The main classes' folder (not the tests'), where the generated bindings compile too.
        val root = File(Gridline::class.java.protectionDomain.codeSource.location.toURI())
        return listOf("org/gridline/sdk", "org/gridline/ffi", "org/gridline/core", "org/gridline/protocol").flatMap { pkg ->
            File(root, pkg).listFiles()!!.filter { it.name.endsWith(".class") && !plumbing.containsMatchIn(it.name) }
                .map { Class.forName(pkg.replace('/', '.') + "." + it.name.removeSuffix(".class")) }
        }.filter { java.lang.reflect.Modifier.isPublic(it.modifiers) }
    }

    @Test
    fun `the public API has no unsigned types and records are immutable`() {
        val types = publicApiClasses()
        // The records and objects an app touches are all in the scan.
        for (expected in listOf(Gridline::class.java, Report::class.java, org.gridline.ffi.GridlineClient::class.java,
                org.gridline.core.Ticket::class.java, org.gridline.core.PhotoInfo::class.java, org.gridline.core.HttpRequest::class.java)) {
            assertTrue(expected in types, "${expected.simpleName} scanned")
        }
        for (type in types) {
            val methods = type.declaredMethods.filter { java.lang.reflect.Modifier.isPublic(it.modifiers) }
            // Kotlin mangles the JVM name of anything taking or returning UInt/ULong (`getSent-s-VKNKU`).
            assertTrue(methods.none { '-' in it.name }, "${type.name}: ${methods.filter { '-' in it.name }.map { it.name }}")
            // Records (data classes: `component1`) are all `val`s.
            if (methods.any { it.name == "component1" }) {
                assertTrue(methods.none { it.name.startsWith("set") && it.parameterCount == 1 }, "${type.simpleName} has setters")
            }
        }
        val report = Report::class.java.getMethod("getTicketStatus").returnType
        assertEquals(TicketStatus::class.java, report, "ticket status is the enum")
        assertEquals(ReportState::class.java, Report::class.java.getMethod("getState").returnType)
        assertEquals(org.gridline.core.TriageState::class.java, org.gridline.core.QueuedTriage::class.java.getMethod("getState").returnType)
    }

    @Test
    fun `drafts are built with named arguments, every field defaulted`() {
        val patch = DraftPatch(note = "only the note")
        assertEquals(DraftPatch(), patch.copy(note = null))
        assertEquals(null, patch.category)
        assertTrue(patch.setAttributes.isEmpty() && patch.removeAttributes.isEmpty())
    }
}
