package org.gridline.sdk

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import java.nio.file.Files
import javax.imageio.ImageIO
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import okhttp3.OkHttpClient
import org.gridline.protocol.AttrValue
import org.gridline.protocol.CoordSystem
import org.gridline.core.DraftPatch
import org.gridline.protocol.LocationFix
import org.gridline.protocol.LocationProvider
import org.gridline.core.Outreach
import org.gridline.protocol.ReportKind
import org.gridline.core.ReportState
import org.gridline.protocol.TicketStatus
import org.gridline.protocol.TriageAction
import org.gridline.protocol.VenueType
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The Kotlin SDK on a real JVM, with the real native library and the real reference server. */
class GridlineTest {
    @TempDir
    lateinit var dir: File

    private fun fix(lat: Double = 29.86, lon: Double = 121.53) =
        LocationFix(lat = lat, lon = lon, accuracyM = 6.0, provider = LocationProvider.GPS, fixTime = System.currentTimeMillis(), sourceCrs = CoordSystem.WGS84)

    private fun patch(category: String, attrs: Map<String, AttrValue>, location: LocationFix? = fix(), outreach: Outreach? = null) =
        DraftPatch(category = category, note = "filed from Kotlin", location = location, setAttributes = attrs, outreach = outreach)

    private fun jpeg(name: String): String {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        val g = image.createGraphics()
        g.color = Color.GRAY
        g.fillRect(0, 0, 320, 240)
        g.color = Color.BLACK
        g.fillOval(120, 90, 80, 50)
        g.dispose()
        val file = File(dir, name)
        ImageIO.write(image, "jpg", file)
        return file.path
    }

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    /** Files one report of each kind; returns their ids. */
    private suspend fun fileThreeKinds(g: Gridline, photo: String? = null): List<String> {
        val road = g.createDraft(ReportKind.ROAD_DAMAGE).id
        g.updateDraft(road, patch("pothole", mapOf("size" to AttrValue.Text("large"))))
        photo?.let { g.attachPhoto(road, it) }
        val bin = g.createDraft(ReportKind.GARBAGE_SORTING).id
        g.updateDraft(bin, patch("overflowing_bin", mapOf("bin_types" to AttrValue.Choices(listOf("kitchen", "residual")))))
        val talk = g.createDraft(ReportKind.ANTI_FRAUD_OUTREACH).id
        g.updateDraft(
            talk,
            patch(
                "street_talk",
                mapOf("topics" to AttrValue.Choices(listOf("telecom_fraud"))),
                outreach = Outreach(peopleReached = 25, materialsHandedOut = 40, venueType = VenueType.STREET),
            ),
        )
        return listOf(road, bin, talk).onEach { g.submit(it) }
    }

    @Test
    fun `offline filing, sync with progress, triage and statuses flowing back`() = runBlocking {
        TestServer().use { server ->
            server.importGrids(TestServer.GRID)
            val riderToken = server.addUser("rider-k", "rider")
            val supToken = server.addUser("sup-k", "supervisor", "HS-01")
            open("rider-k").use { rider ->
                // Offline: the server is not running yet.
                val ids = fileThreeKinds(rider, jpeg("pothole.jpg"))
                assertEquals(3L, rider.counts().pending)
                assertEquals(ids.toSet(), rider.list(listOf(ReportState.QUEUED)).map { it.id }.toSet())

                server.start()
                rider.setServer(server.url, { riderToken })
                val events = rider.sync().toList()
                val summary = (events.last() as SyncEvent.Finished).summary
                assertEquals(3L, summary.sent)
                assertEquals(1L, summary.photos)
                assertTrue(events.any { it is SyncEvent.Progress && it.progress.total == 3L }, "progress was observed")

                open("sup-k").use { sup ->
                    sup.setServer(server.url, { supToken })
                    assertEquals(3L, sup.refreshWorklist())
                    val ticket = sup.worklist().first { it.category == "pothole" }
                    assertEquals("HS-01", ticket.gridId)
                    sup.queueTriage(ticket.id, TriageAction.Accept)
                    assertEquals(1L, sup.sendTriage().applied)
                }
                rider.syncNow()
                assertEquals(TicketStatus.ACCEPTED, rider.get(ids[0]).ticketStatus)
            }
        }
    }

    @Test
    fun `hostile input is a typed exception naming the field and nothing changes`() = runBlocking {
        open("rider-h").use { g ->
            val id = g.createDraft(ReportKind.ROAD_DAMAGE).id
            val before = g.updateDraft(id, patch("pothole", mapOf("size" to AttrValue.Text("large"))))
            val nan = assertThrows<ValidationException> {
                runBlocking { g.updateDraft(id, patch("pothole", emptyMap(), fix(lat = Double.NaN))) }
            }
            assertEquals("location.lat", nan.field)
            val category = assertThrows<ValidationException> { runBlocking { g.updateDraft(id, patch("volcano", emptyMap())) } }
            assertEquals("category", category.field)
            val corrupt = File(dir, "corrupt.jpg").apply { writeBytes(ByteArray(4096) { (it * 31).toByte() }) }
            assertThrows<PhotoException> { runBlocking { g.attachPhoto(id, corrupt.path) } }
            val badId = assertThrows<ValidationException> { runBlocking { g.get("not-an-id") } }
            assertEquals("id", badId.field)
            assertEquals(before, g.get(id), "refused input changed the draft")
            assertEquals(1L, g.counts().drafts)
        }
    }

    @Test
    fun `a throwing token source is an auth error, not a crash, and reports stay queued`() = runBlocking {
        TestServer().use { server ->
            server.start()
            open("rider-t").use { g ->
                val ids = fileThreeKinds(g)
                g.setServer(server.url, { throw IllegalStateException("user signed out") })
                assertThrows<AuthException> { runBlocking { g.syncNow() } }
                assertTrue(ids.all { runBlocking { g.get(it).state } == ReportState.QUEUED })
            }
        }
    }

    @Test
    fun `the OkHttp transport carries a full sync`() = runBlocking {
        TestServer().use { server ->
            val token = server.addUser("rider-o", "rider")
            server.start()
            var requests = 0
            val okhttp = OkHttpClient.Builder().addInterceptor { chain -> requests++; chain.proceed(chain.request()) }.build()
            open("rider-o").use { g ->
                fileThreeKinds(g, jpeg("o.jpg"))
                g.setServer(server.url, { token }, OkHttpTransport(okhttp))
                val summary = g.syncNow()
                assertEquals(3L, summary.sent)
                assertEquals(1L, summary.photos)
                assertEquals(0L, summary.remaining)
                assertTrue(requests >= 4, "the app's interceptor saw the requests ($requests)")
            }
        }
    }

    @Test
    fun `close frees the native object, a second close is silent, use after close is Closed`() = runBlocking {
        val g = open("rider-c")
        g.close()
        assertTrue(g.isClosed)
        assertTrue(g.nativeClient().uniffiIsDestroyed, "close() called destroy()")
        g.close() // silent
        g.close()
        assertThrows<ClosedException> { runBlocking { g.counts() } }
        assertThrows<ClosedException> { runBlocking { g.wipe() } }
        // The database is free again: a new instance opens it.
        open("rider-c").use { assertEquals(0L, it.counts().drafts) }
    }
}
