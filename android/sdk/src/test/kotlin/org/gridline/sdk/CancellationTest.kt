package org.gridline.sdk

import java.io.File
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import okhttp3.OkHttpClient
import org.gridline.core.SyncStatus
import org.gridline.core.TriageState
import org.gridline.core.HttpRequest
import org.gridline.core.HttpResponse
import org.gridline.core.HttpTransport
import org.gridline.protocol.TriageAction
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The app's suspending transport and token source on the real JVM and library: a cancelled
 * sync cancels their coroutines (what the app sees), not only the native run. Timeouts below
 * only keep a broken build from hanging the suite; nothing asserts on time.
 */
class CancellationTest {
    @TempDir
    lateinit var dir: File

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    /** Suspends until cancelled, telling the test when it started and when it was cancelled. */
    private class Hang {
        val started = CompletableDeferred<Unit>()
        val cancelled = CompletableDeferred<Unit>()

        suspend fun <T> forever(): T {
            started.complete(Unit)
            try {
                awaitCancellation()
            } catch (e: CancellationException) {
                cancelled.complete(Unit)
                throw e
            }
        }
    }

    /** A transport whose every request hangs until its coroutine is cancelled. */
    private class HangingTransport(val hang: Hang) : HttpTransport {
        override suspend fun send(request: HttpRequest): HttpResponse = hang.forever()
    }

    @Test
    fun `a collector cancelled mid-request cancels the app transport's coroutine`() = runBlocking {
        open("rider-c").use { g ->
            Fixtures.potholes(g, 2)
            val hang = Hang()
            g.setServer("http://127.0.0.1:9", { "token" }, HangingTransport(hang))
            val run = launch(Dispatchers.Default) { g.sync().collect { } }
            withTimeout(60_000) { hang.started.await() }
            assertTrue(g.status.value is SyncStatus.Syncing)
            run.cancelAndJoin()
            withTimeout(60_000) { hang.cancelled.await() }
            withTimeout(60_000) { g.status.first { it !is SyncStatus.Syncing } }
            assertEquals(2, g.list(listOf(ReportState.QUEUED)).size, "nothing lost, nothing left sending")
        }
    }

    @Test
    fun `closing during a token refresh cancels the token source's coroutine`() = runBlocking {
        val g = open("rider-t")
        Fixtures.potholes(g, 1)
        val hang = Hang()
        g.setServer("http://127.0.0.1:9", { _ -> hang.forever() }, HangingTransport(Hang()))
        val run = launch(Dispatchers.Default) { runCatching { g.sync().collect { } } }
        withTimeout(60_000) { hang.started.await() }
        g.close()
        withTimeout(60_000) { hang.cancelled.await() }
        withTimeout(60_000) { run.join() }
        open("rider-t").use { again -> assertEquals(1L, again.counts().pending) }
    }

    @Test
    fun `a suspending transport that throws is a retryable failure, not a crash`() = runBlocking {
        open("rider-e").use { g ->
            Fixtures.potholes(g, 1)
            val broken = object : HttpTransport {
                override suspend fun send(request: HttpRequest): HttpResponse {
                    kotlinx.coroutines.yield()
                    throw IllegalStateException("interceptor bug")
                }
            }
            g.setServer("http://127.0.0.1:9", { "token" }, broken)
            val summary = g.syncNow(SyncSettings(maxRetries = 0))
            assertTrue(summary.incomplete && summary.sent == 0L, "$summary")
            assertTrue(summary.lastError.orEmpty().contains("interceptor bug"), "${summary.lastError}")
            assertEquals(1, g.list(listOf(ReportState.QUEUED)).size)
        }
    }

    @Test
    fun `cancelling refreshWorklist or sendTriage stops the native run and the request in flight`() = runBlocking {
        TestServer().use { server ->
            server.importGrids(TestServer.GRID)
            val riderToken = server.addUser("rider-w", "rider")
            val supToken = server.addUser("sup-w", "supervisor", "HS-01")
            server.start()
            open("rider-w").use { rider ->
                Fixtures.potholes(rider, 1)
                rider.setServer(server.url, { riderToken })
                assertEquals(1L, rider.syncNow().sent)
            }
            open("sup-w").use { sup ->
                sup.setServer(server.url, { supToken })
                assertEquals(1L, sup.refreshWorklist())
                sup.queueTriage(sup.worklist().single().id, TriageAction.Accept)

                // A server that hangs: the core would wait 30 s for the page; only the cancel
                // ends it sooner (the bound below is under that, not a speed requirement).
                BlackHole().use { hole ->
                    sup.setServer(hole.url, { supToken }, OkHttpTransport(OkHttpClient()))
                    val refresh = launch(Dispatchers.Default) { sup.refreshWorklist() }
                    withTimeout(60_000) { while (hole.accepted == 0) delay(10) }
                    refresh.cancelAndJoin()
                    withTimeout(20_000) { while (hole.hungUp == 0) delay(10) }
                }
                assertEquals(1, sup.worklist().size, "the worklist pulled before is kept")

                val hang = Hang()
                sup.setServer(server.url, { supToken }, HangingTransport(hang))
                val push = launch(Dispatchers.Default) { sup.sendTriage() }
                withTimeout(60_000) { hang.started.await() }
                push.cancelAndJoin()
                withTimeout(20_000) { hang.cancelled.await() }
                assertEquals(TriageState.QUEUED, sup.triageActions().single().state, "nothing lost")

                // The cancelled run let go of the lease: the decision goes through now.
                sup.setServer(server.url, { supToken })
                assertEquals(1L, sup.sendTriage().applied)
            }
        }
    }
}
