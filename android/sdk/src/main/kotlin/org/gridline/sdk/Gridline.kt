package org.gridline.sdk

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.last
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.ffi.Catalog
import org.gridline.ffi.ClientConfig
import org.gridline.ffi.CoordSystem
import org.gridline.ffi.Counts
import org.gridline.ffi.DraftPatch
import org.gridline.ffi.GridInfo
import org.gridline.ffi.GridlineClient
import org.gridline.ffi.HttpTransport
import org.gridline.ffi.LocationFix
import org.gridline.ffi.NearbyReport
import org.gridline.ffi.PhotoRef
import org.gridline.ffi.QueuedTriage
import org.gridline.ffi.Report
import org.gridline.ffi.ReportKind
import org.gridline.ffi.ReportState
import org.gridline.ffi.ServerConfig
import org.gridline.ffi.SyncHandle
import org.gridline.ffi.SyncProgress
import org.gridline.ffi.SyncProgressListener
import org.gridline.ffi.SyncSettings
import org.gridline.ffi.SyncSummary
import org.gridline.ffi.Ticket
import org.gridline.ffi.TicketStatus
import org.gridline.ffi.TriageAction
import org.gridline.ffi.TriageSummary

/**
 * Gridline on a rider's (or supervisor's) device: an offline outbox of reports with photos and
 * geotags, synced in batches to the city grid server.
 *
 * Every function is `suspend` and runs the native call on [io] (disk and network never touch
 * the main thread). A report is safe on disk when [submit] returns. Failures are
 * [GridlineException] subclasses (see `Errors.kt`), e.g. [GridlineException.Validation] with the
 * offending `field`. Close the instance when done; any call after [close], and a second
 * [close], throws [GridlineException.Closed].
 */
class Gridline private constructor(
    private val client: GridlineClient,
    private val io: CoroutineDispatcher,
) : AutoCloseable {
    companion object {
        /**
         * Opens (creating or migrating) the database at [dbPath] for the signed-in [reporter].
         * Photos are kept in a folder beside it.
         */
        suspend fun open(
            dbPath: String,
            reporter: String,
            appVersion: String,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): Gridline = withContext(io) {
            Gridline(GridlineClient.open(ClientConfig(dbPath, reporter, appVersion)), io)
        }
    }

    private suspend fun <T> call(block: GridlineClient.() -> T): T = withContext(io) { client.block() }

    /**
     * Sets the grid server ([url]: https, or http to loopback), the app's login ([tokens]) and
     * optionally its HTTP stack ([transport], e.g. [OkHttpTransport]; default: built-in rustls).
     */
    suspend fun setServer(url: String, tokens: TokenSource, transport: HttpTransport? = null) =
        call { setServer(ServerConfig(url, tokens.asProvider(), transport)) }

    /** Starts a report of [kind]; its id is made now and never changes. */
    suspend fun createDraft(kind: ReportKind): Report = call { createDraft(kind) }

    /** Changes a draft (or a parked report being fixed); each value set is checked now. */
    suspend fun updateDraft(id: String, patch: DraftPatch): Report = call { updateDraft(id, patch) }

    /** Processes the photo file at [path] (upright, resized, no metadata) and attaches it. */
    suspend fun attachPhoto(id: String, path: String): PhotoRef = call { attachPhoto(id, path) }

    /** Removes a photo from an editable report. */
    suspend fun detachPhoto(id: String, sha256: String) = call { detachPhoto(id, sha256) }

    /** The file of a processed photo (or its thumbnail), for display. */
    suspend fun photoPath(sha256: String, thumbnail: Boolean = false): String = call { photoPath(sha256, thumbnail) }

    /** A location fix from a photo's EXIF GPS tags, or `null` when it has none. */
    suspend fun locationFromPhoto(path: String): LocationFix? = call { locationFromPhoto(path) }

    /** Validates and queues the report: when this returns it is on disk and will be sent once. */
    suspend fun submit(id: String): Report = call { submit(id) }

    /** One report. */
    suspend fun get(id: String): Report = call { get(id) }

    /** Reports in [states] (all when empty), newest first. */
    suspend fun list(states: List<ReportState> = emptyList(), limit: UInt? = null): List<Report> =
        call { list(states, limit) }

    /** Deletes a draft that was never submitted. */
    suspend fun deleteDraft(id: String) = call { deleteDraft(id) }

    /** Report counts per state, for a badge. */
    suspend fun counts(): Counts = call { counts() }

    /** The catalog of kinds, categories and attributes, for building forms. */
    suspend fun catalog(): Catalog = call { catalog() }

    /** Installs grid polygons (GeoJSON in [crs]); returns their version. */
    suspend fun installGrids(geojson: String, crs: CoordSystem = CoordSystem.WGS84): String =
        call { installGrids(geojson, crs) }

    /** The grid containing a WGS-84 point, offline. */
    suspend fun locateGrid(lon: Double, lat: Double): GridInfo? = call { locateGrid(lon, lat) }

    /** Reports of [category] within [radiusM] of a point in the last [days] days: maybe the same problem. */
    suspend fun nearbyReports(lon: Double, lat: Double, category: String, radiusM: Double = 50.0, days: UInt = 7u): List<NearbyReport> =
        call { nearbyReports(lon, lat, category, radiusM, days) }

    /**
     * Syncs: sends the outbox in batches, uploads photos, pulls ticket changes. Emits
     * [SyncEvent.Progress] while it runs and [SyncEvent.Finished] last. Network trouble does not
     * throw: the summary says `incomplete` and `nextRetryAtMs`. Cancelling the collector stops
     * the run at its next safe point.
     */
    fun sync(settings: SyncSettings = defaultSyncSettings()): Flow<SyncEvent> = callbackFlow {
        val handle = SyncHandle()
        val listener = object : SyncProgressListener {
            override fun onProgress(progress: SyncProgress) {
                trySend(SyncEvent.Progress(progress))
            }
        }
        launch(io) {
            try {
                val summary = client.sync(settings, listener, handle)
                send(SyncEvent.Finished(summary))
                channel.close()
            } catch (e: Throwable) {
                channel.close(e)
            }
        }
        awaitClose { handle.cancel() }
    }.flowOn(io)

    /** Syncs and returns the summary (see [sync]). */
    suspend fun syncNow(settings: SyncSettings = defaultSyncSettings()): SyncSummary =
        (sync(settings).last() as SyncEvent.Finished).summary

    /** When WorkManager should run sync again (ms since epoch), or `null`. */
    suspend fun nextRetryAtMs(): Long? = call { nextRetryAtMs() }

    /** Supervisor: pulls the tickets of their grids (only [statuses] when not empty). */
    suspend fun refreshWorklist(statuses: List<TicketStatus> = emptyList()): ULong = call { refreshWorklist(statuses) }

    /** Supervisor: the offline worklist. */
    suspend fun worklist(statuses: List<TicketStatus> = emptyList()): List<Ticket> = call { worklist(statuses) }

    /** Supervisor: decides on a ticket offline; [sendTriage] sends it with the ticket's version. */
    suspend fun queueTriage(ticketId: String, action: TriageAction): Long = call { queueTriage(ticketId, action) }

    /** Supervisor: decisions queued, sent, in conflict or failed. */
    suspend fun triageActions(): List<QueuedTriage> = call { triageActions() }

    /** Supervisor: sends queued decisions; a changed ticket comes back as a conflict. */
    suspend fun sendTriage(): TriageSummary = call { sendTriage() }

    /** Closes the database. A second close throws [GridlineException.Closed]. */
    override fun close() {
        client.closeStore()
    }
}

/** What [Gridline.sync] emits. */
sealed interface SyncEvent {
    /** A step forward in one phase. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The run ended; the last event. */
    data class Finished(val summary: SyncSummary) : SyncEvent
}

/** The default sync tuning (batches of up to 200, six in-run retries). */
fun defaultSyncSettings(): SyncSettings = SyncSettings(200u, 6u, 10_000uL, 30_000uL)
