package org.gridline.sdk

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import javax.imageio.ImageIO
import kotlinx.coroutines.runBlocking
import org.gridline.protocol.AttrValue
import org.gridline.protocol.CoordSystem
import org.gridline.protocol.LocationFix
import org.gridline.protocol.LocationProvider
import org.gridline.protocol.ReportKind
import org.gridline.protocol.TicketStatus
import org.gridline.protocol.TriageAction
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** A rider filing a verification (核查) from Kotlin, against the real library and server. */
class VerificationTest {
    @TempDir
    lateinit var dir: File

    private fun fix(lat: Double, lon: Double) =
        LocationFix(lat = lat, lon = lon, accuracyM = 5.0, provider = LocationProvider.GPS, fixTime = System.currentTimeMillis(), sourceCrs = CoordSystem.WGS84)

    private fun jpeg(name: String): String {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        val g = image.createGraphics()
        g.color = Color.DARK_GRAY
        g.fillRect(0, 0, 320, 240)
        g.dispose()
        return File(dir, name).also { ImageIO.write(image, "jpg", it) }.path
    }

    private suspend fun open(name: String) = Gridline.open(File(dir, "$name.db").path, name, "kotlin-test")

    private suspend fun pothole(g: Gridline, lat: Double, lon: Double): String {
        val id = g.createDraft(ReportKind.ROAD_DAMAGE).id
        g.updateDraft(id, DraftPatch(category = "pothole", note = "坑", location = fix(lat, lon), setAttributes = mapOf("size" to AttrValue.Text("large"))))
        g.submit(id)
        return id
    }

    @Test
    fun `a rider pulls a task and files a failed verification that reopens the ticket`() = runBlocking {
        TestServer().use { server ->
            server.importGrids(TestServer.GRID)
            val liToken = server.addUser("rider-li", "rider")
            val zhaoToken = server.addUser("rider-zhao", "rider")
            val supToken = server.addUser("sup-k", "supervisor", "HS-01")
            server.start()
            open("rider-li").use { li ->
                open("rider-zhao").use { zhao ->
                    li.setServer(server.url, { liToken })
                    zhao.setServer(server.url, { zhaoToken })
                    val report = pothole(li, 29.86, 121.53)
                    pothole(zhao, 29.861, 121.531) // zhao works this grid too
                    li.syncNow()
                    zhao.syncNow()
                    val ticket = li.get(report).ticketId!!

                    open("sup-k").use { sup ->
                        sup.setServer(server.url, { supToken })
                        for (action in listOf(TriageAction.Accept, TriageAction.Dispatch("市政"), TriageAction.Resolve("已填补"))) {
                            sup.refreshWorklist()
                            sup.queueTriage(ticket, action)
                            assertEquals(1L, sup.sendTriage().applied)
                        }
                    }

                    assertEquals(1L, zhao.syncNow().tasks)
                    val task = zhao.tasks().single()
                    assertEquals(ticket, task.ticketId)
                    assertEquals(TicketStatus.AWAITING_VERIFICATION, li.apply { syncNow() }.get(report).ticketStatus)

                    // Too far away: refused on the phone, nothing left behind.
                    val far = assertThrows<ValidationException> {
                        runBlocking { zhao.verify(ticket, fixed = true, location = fix(task.lat + 0.01, task.lon)) }
                    }
                    assertEquals("location", far.field)
                    assertTrue(zhao.list().none { it.kind == ReportKind.VERIFICATION }, "no half-filed verification")

                    val filed = zhao.verify(ticket, fixed = false, location = fix(task.lat, task.lon), note = "还是坑", photos = listOf(jpeg("check.jpg")))
                    assertEquals(ReportKind.VERIFICATION, filed.kind)
                    assertEquals(1, filed.photos.size)
                    assertTrue(zhao.tasks().isEmpty(), "a filed task leaves the list")
                    val sent = zhao.syncNow()
                    assertEquals(1L, sent.sent)
                    assertEquals(1L, sent.photos)

                    li.syncNow()
                    assertEquals(TicketStatus.DISPATCHED, li.get(report).ticketStatus, "reopened (返工)")
                }
            }
        }
    }
}
