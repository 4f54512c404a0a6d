package org.gridline.sdk

import java.io.File
import kotlinx.coroutines.runBlocking
import org.gridline.protocol.AttrValue
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * Trustworthy evidence (issue 17) through the Kotlin API, on the real JVM, library and
 * reference server: the rider sees a mock location's fraud signal offline, the supervisor's
 * worklist carries the server's signature check and signals, and both sides get duplicate
 * candidates with their reasons.
 */
class EvidenceTest {
    @TempDir
    lateinit var dir: File

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    private suspend fun pothole(g: Gridline, lat: Double, mock: Boolean = false): String {
        val id = g.createDraft(ReportKind.ROAD_DAMAGE).id
        g.updateDraft(
            id,
            DraftPatch(
                category = "pothole",
                note = if (mock) "from a mock location app" else "pothole by the bus stop",
                location = Fixtures.fix(lat = lat).copy(mock = mock),
                setAttributes = mapOf("size" to AttrValue.Text("large")),
            ),
        )
        g.submit(id)
        return id
    }

    @Test
    fun `signals, signature checks and duplicate candidates reach Kotlin`() = runBlocking {
        TestServer().use { server ->
            server.importGrids(TestServer.GRID)
            val riderToken = server.addUser("rider-e", "rider")
            val supToken = server.addUser("sup-e", "supervisor", "HS-01")
            open("rider-e").use { rider ->
                val first = pothole(rider, 29.8610)
                // The same pothole a few metres away, a minute later, by the same rider.
                val second = pothole(rider, 29.86103)
                val mocked = pothole(rider, 29.8650, mock = true)

                // Offline: the device's own signals and candidates.
                assertEquals(emptyList<FraudSignal>(), rider.fraudSignals(first))
                val signals = rider.fraudSignals(mocked)
                val mock = signals.firstOrNull { it.name == "mock_location" }
                assertNotNull(mock, "$signals")
                assertEquals(SignalSeverity.HIGH, mock!!.severity)
                assertTrue(mock.explanation.isNotBlank())
                val nearby = rider.nearbyCandidates(second)
                assertEquals(first, nearby.firstOrNull()?.reportId, "$nearby")
                assertTrue(nearby.first().reason.contains("m away"), nearby.first().reason)

                server.start()
                rider.setServer(server.url, { riderToken })
                assertEquals(3L, rider.syncNow().sent)

                open("sup-e").use { sup ->
                    sup.setServer(server.url, { supToken })
                    assertEquals(3L, sup.refreshWorklist())
                    val tickets = sup.worklist().associateBy { it.reportId }
                    for (t in tickets.values) {
                        assertEquals(SignatureCheck.VALID, t.evidence?.signature, "${t.id}: ${t.evidence}")
                        assertEquals(0L, t.mergedReports)
                    }
                    val mockTicket = tickets.getValue(mocked)
                    assertTrue(mockTicket.evidence!!.signals.any { it.name == "mock_location" }, "${mockTicket.evidence}")
                    assertTrue(tickets.getValue(first).evidence!!.signals.none { it.name == "mock_location" })

                    // The server's ranking: the second pothole is the first one's best candidate.
                    val firstTicket = tickets.getValue(first).id
                    val candidates = sup.ticketCandidates(firstTicket)
                    val best = candidates.firstOrNull()
                    assertEquals(tickets.getValue(second).id, best?.ticketId, "$candidates")
                    assertEquals(second, best!!.reportId)
                    assertTrue(best.reason.contains("m away"), best.reason)
                    assertTrue(best.score > 0.0 && best.score <= 1.0, "${best.score}")

                    val e = runCatching { sup.ticketCandidates("../../etc/passwd") }.exceptionOrNull()
                    assertTrue(e is GridlineException, "a hostile id is a typed error: $e")
                }
            }
        }
    }
}
