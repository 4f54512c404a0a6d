package org.gridline.sdk

import java.io.File
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import okhttp3.OkHttpClient
import org.gridline.core.SyncStatus
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Shared state and lifecycle on the real JVM, library and server: the status StateFlow, the
 * counts and queue Flows, one sync per database, cancellation, close and wipe. Timeouts below
 * only keep a broken build from hanging the suite; nothing asserts on time.
 */
class StateAndLifecycleTest {
    @TempDir
    lateinit var dir: File

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    /** Waits (bounded) until the black hole holds a request of the sync. */
    private suspend fun awaitHanging(hole: BlackHole) = withTimeout(60_000) {
        while (hole.accepted == 0) delay(10)
    }

    private val hangForever = SyncSettings(requestTimeoutMs = 600_000)

    @Test
    fun `status is Syncing during a run and Idle after, counts and queue flows follow`() = runBlocking {
        TestServer().use { server ->
            val token = server.addUser("rider-s", "rider")
            server.start()
            open("rider-s").use { g ->
                assertEquals(SyncStatus.Idle, g.status.value)
                val counts = mutableListOf<Counts>()
                val watcher = launch(Dispatchers.Default) { g.counts.collect { counts += it } }
                Fixtures.potholes(g, 3)
                withTimeout(30_000) { g.counts.first { it.pending == 3L } }
                assertEquals(3, g.reports(listOf(ReportState.QUEUED)).first().size)

                // The token source suspends, and runs on the sync's thread mid-run.
                val seenMidRun = AtomicReference<SyncStatus>()
                g.setServer(server.url, { _ ->
                    delay(1)
                    seenMidRun.compareAndSet(null, g.status.value)
                    token
                })
                assertEquals(3L, g.syncNow().sent)
                assertTrue(seenMidRun.get() is SyncStatus.Syncing, "status mid-run: ${seenMidRun.get()}")
                assertEquals(SyncStatus.Idle, g.status.value)
                withTimeout(30_000) { g.counts.first { it.accepted == 3L && it.pending == 0L } }
                assertTrue(g.reports(listOf(ReportState.QUEUED)).first().isEmpty())
                watcher.cancelAndJoin()
                assertTrue(counts.any { it.pending == 3L }, "the collector saw the queue: $counts")
            }
        }
    }

    @Test
    fun `a collector cancelled mid-request stops the native run and a second sync meanwhile is Busy`() = runBlocking {
        TestServer().use { server ->
            val token = server.addUser("rider-x", "rider")
            server.start()
            BlackHole().use { hole ->
                open("rider-x").use { g ->
                    Fixtures.potholes(g, 3)
                    g.setServer(hole.url, { token }, OkHttpTransport(OkHttpClient()))
                    val run = launch(Dispatchers.Default) { g.sync(hangForever).collect { } }
                    awaitHanging(hole)
                    assertTrue(g.status.value is SyncStatus.Syncing)

                    // The same database from another instance (as a background job has it).
                    open("rider-x").use { other ->
                        other.setServer(server.url, { token })
                        assertThrows<BusyException> { runBlocking { other.syncNow() } }
                        run.cancelAndJoin()
                        // The cancel reached OkHttp: the server sees the call hang up.
                        withTimeout(60_000) { while (hole.hungUp == 0) delay(10) }
                        // The native run ends although its request would hang for ten minutes.
                        withTimeout(30_000) { g.status.first { it !is SyncStatus.Syncing } }
                        assertEquals(3, g.list(listOf(ReportState.QUEUED)).size, "nothing left sending")
                        assertEquals(3L, other.syncNow().sent, "the lease was released")
                    }
                }
            }
        }
    }

    @Test
    fun `the queue screen pages list rows newest first, joining up to the whole list`() = runBlocking {
        open("rider-q").use { g ->
            Fixtures.potholes(g, 5)
            val whole = g.list(listOf(ReportState.QUEUED))
            val seen = mutableListOf<ReportRow>()
            var after: ListCursor? = null
            while (true) {
                val page = g.listRows(listOf(ReportState.QUEUED), limit = 2, after = after)
                if (page.isEmpty()) break
                assertTrue(page.size <= 2)
                seen += page
                after = ListCursor(page.last().createdAt, page.last().id)
            }
            assertEquals(whole.map { it.id }, seen.map { it.id })
            assertEquals(whole.map { it.note }, seen.map { it.note })
            assertEquals(whole.map { it.photos.size.toLong() }, seen.map { it.photoCount })
        }
    }

    @Test
    fun `close stops a running sync and frees the database`() = runBlocking {
        TestServer().use { server ->
            val token = server.addUser("rider-z", "rider")
            server.start()
            BlackHole().use { hole ->
                val g = open("rider-z")
                Fixtures.potholes(g, 2)
                g.setServer(hole.url, { token }, OkHttpTransport(OkHttpClient()))
                val run = launch(Dispatchers.Default) { runCatching { g.sync(hangForever).collect { } } }
                awaitHanging(hole)
                g.close()
                g.close()
                withTimeout(60_000) { while (hole.hungUp == 0) delay(10) }
                withTimeout(30_000) { run.join() }
                // The run let go of the lease: a new instance syncs the same file at once.
                open("rider-z").use { again ->
                    again.setServer(server.url, { token })
                    withTimeout(30_000) {
                        while (true) {
                            val sent = try { again.syncNow().sent } catch (_: BusyException) { null }
                            if (sent != null) { assertEquals(2L, sent); break }
                            delay(20) // the stopped run is still returning through the FFI
                        }
                    }
                }
                assertTrue(g.nativeClient().uniffiIsDestroyed)
            }
        }
    }

    @Test
    fun `wipe refuses unsent reports, then deletes rows and photos when forced`() = runBlocking {
        open("rider-w").use { g ->
            Fixtures.potholes(g, 2)
            val refused = assertThrows<UnsentException> { runBlocking { g.wipe() } }
            assertEquals(2L, refused.reports)
            assertEquals(2L, g.counts().pending, "nothing deleted")
            g.wipe(force = true)
            assertEquals(Counts(drafts = 0, pending = 0, accepted = 0, rejected = 0), g.counts())
            assertTrue(g.list().isEmpty())
            assertTrue(!File(dir, "rider-w.media").exists() || File(dir, "rider-w.media").list().isNullOrEmpty())
        }
    }
}
