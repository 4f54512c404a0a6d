package org.gridline.sdk

import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import org.gridline.protocol.AttrValue
import org.gridline.protocol.CoordSystem
import org.gridline.protocol.LocationProvider

/** Small builders shared by the test classes. */
object Fixtures {
    /** A fresh GPS fix in the test grid. */
    fun fix(lat: Double = 29.86, lon: Double = 121.53) = LocationFix(
        lat = lat,
        lon = lon,
        accuracyM = 6.0,
        provider = LocationProvider.GPS,
        fixTime = System.currentTimeMillis(),
        sourceCrs = CoordSystem.WGS84,
    )

    /** Files [n] potholes and returns their ids. */
    suspend fun potholes(g: Gridline, n: Int): List<String> = (0 until n).map { i ->
        val id = g.createDraft(ReportKind.ROAD_DAMAGE).id
        g.updateDraft(
            id,
            DraftPatch(
                category = "pothole",
                note = "pothole $i",
                location = fix(lat = 29.851 + i * 0.0001),
                setAttributes = mapOf("size" to AttrValue.Text("large")),
            ),
        )
        g.submit(id)
        id
    }
}

/**
 * A loopback server that accepts connections and never answers: every request to it hangs
 * until the client gives up or is cancelled. [accepted] counts the connections it saw,
 * [hungUp] those the client closed (a cancelled OkHttp call closes its socket).
 */
class BlackHole : AutoCloseable {
    private val socket = ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())
    private val clients = CopyOnWriteArrayList<Socket>()

    /** `http://127.0.0.1:PORT`. */
    val url = "http://127.0.0.1:${socket.localPort}"

    private val hangUps = AtomicInteger()

    /** Connections accepted so far. */
    val accepted: Int get() = clients.size

    /** Connections the client closed so far. */
    val hungUp: Int get() = hangUps.get()

    init {
        thread(isDaemon = true, name = "black-hole") {
            while (!socket.isClosed) {
                try {
                    val client = socket.accept()
                    clients += client
                    thread(isDaemon = true, name = "black-hole-reader") {
                        // Swallows the request; the end of the stream is the client hanging up.
                        val closedByClient = runCatching {
                            val input = client.getInputStream()
                            val buf = ByteArray(8192)
                            while (input.read(buf) != -1) { }
                        }.isSuccess || !socket.isClosed
                        if (closedByClient) hangUps.incrementAndGet()
                    }
                } catch (_: Exception) {
                    break
                }
            }
        }
    }

    override fun close() {
        socket.close()
        clients.forEach { runCatching { it.close() } }
    }
}
