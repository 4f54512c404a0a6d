package org.gridline.sdk

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.last
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import okhttp3.OkHttpClient
import org.gridline.protocol.Catalog
import org.gridline.ffi.ClientConfig
import org.gridline.core.ClientObserver
import org.gridline.protocol.CoordSystem
import org.gridline.core.Counts
import org.gridline.core.DataChange
import org.gridline.core.DraftPatch
import org.gridline.core.GridInfo
import org.gridline.ffi.GridlineClient
import org.gridline.core.HttpTransport
import org.gridline.core.ListCursor
import org.gridline.protocol.LocationFix
import org.gridline.core.PhotoRef
import org.gridline.core.QueuedTriage
import org.gridline.protocol.ReportKind
import org.gridline.core.ReportRow
import org.gridline.core.ReportState
import org.gridline.ffi.ServerConfig
import org.gridline.ffi.SyncHandle
import org.gridline.core.SyncProgress
import org.gridline.core.SyncObserver
import org.gridline.core.SyncSettings
import org.gridline.core.SyncStatus
import org.gridline.core.SyncSummary
import org.gridline.core.Ticket
import org.gridline.protocol.TicketStatus
import org.gridline.protocol.TriageAction
import org.gridline.core.TriageSummary
import org.gridline.core.hasBuiltinTransport

/**
 * Gridline on a rider's (or supervisor's) device: an offline outbox of reports with photos and
 * geotags, synced in batches to the city grid server.
 *
 * Every function is `suspend` and runs the native call on [io] (disk and network never touch
 * the main thread). A report is safe on disk when [submit] returns. Failures are
 * [GridlineException] subclasses (see `Errors.kt`), e.g. [ValidationException] with the
 * offending `field`.
 *
 * State for the UI: [status] is the shared sync status (also of syncs started by a background
 * job on this instance), [counts], [reports] and [worklistUpdates] re-emit whenever the core
 * says their data changed. One sync runs at a time per database file; a second one, from this
 * or another process, fails with [BusyException].
 *
 * [close] stops a running sync, frees the native object and may be called any number of times;
 * any other call after it throws [ClosedException].
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
            Gridline(GridlineClient.open(ClientConfig(dbPath = dbPath, reporter = reporter, appVersion = appVersion)), io)
        }
    }

    private val closed = AtomicBoolean(false)
    private val statusState = MutableStateFlow<SyncStatus>(SyncStatus.Idle)
    private val changeEvents = MutableSharedFlow<DataChange>(extraBufferCapacity = 64, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    private val observerId: Long = client.addObserver(object : ClientObserver {
        // Called on the core's thread: only hand the value over, never throw back into it.
        override fun onStatus(status: SyncStatus) {
            statusState.value = status
        }

        override fun onChange(change: DataChange) {
            changeEvents.tryEmit(change)
        }
    })

    /** The sync status: idle, syncing with progress, waiting until a retry time, or failed. */
    val status: StateFlow<SyncStatus> = statusState.asStateFlow()

    /** What changed in the store (reports, worklist, triage queue), as the core reports it. */
    val changes: SharedFlow<DataChange> = changeEvents.asSharedFlow()

    private fun <T> watch(kind: DataChange, read: suspend () -> T): Flow<T> =
        changeEvents.filter { it == kind }
            .map { }
            .onStart { emit(Unit) }
            .conflate()
            .map { read() }
            .distinctUntilChanged()

    /** The badge counts now and after every change to the reports. */
    val counts: Flow<Counts> = watch(DataChange.REPORTS) { counts() }

    /** Reports in [states] (all when empty), newest first, now and after every change. */
    fun reports(states: List<ReportState> = emptyList(), limit: Int? = null): Flow<List<Report>> =
        watch(DataChange.REPORTS) { list(states, limit) }

    /** Supervisor: the offline worklist now and after every change. */
    fun worklistUpdates(statuses: List<TicketStatus> = emptyList()): Flow<List<Ticket>> =
        watch(DataChange.WORKLIST) { worklist(statuses) }

    private fun <T> native(block: GridlineClient.() -> T): T {
        if (closed.get()) throw ClosedException()
        return client.block()
    }

    private suspend fun <T> call(block: GridlineClient.() -> T): T = withContext(io) { native(block) }

    /**
     * Like [call] for a native run that takes a [SyncHandle]: cancelling the caller's coroutine
     * cancels the run (the transport's request in flight too) and returns once it stopped.
     */
    private suspend fun <T> cancellable(block: GridlineClient.(SyncHandle) -> T): T {
        val handle = SyncHandle()
        try {
            return coroutineScope {
                val run = async(io) {
                    try {
                        native { block(handle) }
                    } catch (e: GridlineException) {
                        // The run's answer to the cancel (a dropped request), not a failure:
                        // the caller sees its own cancellation.
                        if (handle.isCancelled()) throw CancellationException("cancelled").apply { initCause(e) }
                        throw e
                    }
                }
                try {
                    run.await()
                } catch (e: CancellationException) {
                    handle.cancel()
                    throw e
                }
            }
        } finally {
            handle.destroy()
        }
    }

    /**
     * Sets the grid server ([url]: https, or http to loopback), the app's login ([tokens]) and
     * optionally its HTTP stack ([transport], e.g. [OkHttpTransport]). Without one: the
     * library's built-in rustls stack where it has one (JVM/desktop builds), otherwise a plain
     * [OkHttpTransport] (the Android release library leaves the built-in out, docs/size.md).
     */
    suspend fun setServer(url: String, tokens: TokenSource, transport: HttpTransport? = null) = call {
        val chosen = transport ?: if (hasBuiltinTransport()) null else OkHttpTransport(OkHttpClient())
        setServer(ServerConfig(url = url, tokens = tokens.asProvider(), transport = chosen))
    }

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

    /**
     * Signs this installation's reports from now on with the app's own key ([signer], e.g. in
     * the Android Keystore) instead of the built-in software key; returns its key id. The next
     * sync registers it. A [signer] that throws at submit leaves that report unsigned, never
     * unfiled; one whose public key throws is refused here ([StorageException]).
     */
    suspend fun setSigner(signer: Signer): String = call { setSigner(signer.asDeviceSigner()) }

    /**
     * Rotation: signs from now on with a fresh software key; earlier keys stay registered, so
     * what they signed still verifies. Returns the new key id.
     */
    suspend fun rotateSigningKey(): String = call { rotateSigningKey() }

    /** The id of the key that signs this installation's reports now. */
    suspend fun signingKeyId(): String = call { signingKeyId() }

    /** Validates and queues the report: when this returns it is on disk and will be sent once. */
    suspend fun submit(id: String): Report = call { submit(id) }

    /** One report. */
    suspend fun get(id: String): Report = call { get(id) }

    /** Reports in [states] (all when empty), newest first, at most [limit]. */
    suspend fun list(states: List<ReportState> = emptyList(), limit: Int? = null): List<Report> =
        call { list(states, limit) }

    /**
     * One page of the queue screen: rows in [states] (all when empty), newest first, at most
     * [limit], after [after] (`ListCursor(last.createdAt, last.id)` of the previous page).
     * Much cheaper than [list] for long queues: no payload, no photo records.
     */
    suspend fun listRows(states: List<ReportState> = emptyList(), limit: Int? = 50, after: ListCursor? = null): List<ReportRow> =
        call { listRows(states, limit, after) }

    /** Deletes a draft that was never submitted. */
    suspend fun deleteDraft(id: String) = call { deleteDraft(id) }

    /** Report counts per state, for a badge (see [counts] for a flow). */
    suspend fun counts(): Counts = call { counts() }

    /** The catalog of kinds, categories and attributes, for building forms. */
    suspend fun catalog(): Catalog = call { catalog() }

    /** Installs grid polygons (GeoJSON in [crs]); returns their version. */
    suspend fun installGrids(geojson: String, crs: CoordSystem = CoordSystem.WGS84): String =
        call { installGrids(geojson, crs) }

    /** The grid containing a WGS-84 point, offline. */
    suspend fun locateGrid(lon: Double, lat: Double): GridInfo? = call { locateGrid(lon, lat) }

    /** Reports of [category] within [radiusM] of a point in the last [days] days: maybe the same problem. */
    suspend fun nearbyReports(lon: Double, lat: Double, category: String, radiusM: Double = 50.0, days: Int = 7): List<NearbyReport> =
        call { nearbyReports(lon, lat, category, radiusM, days) }

    /**
     * Duplicate candidates for report [id] (draft or filed): nearby reports and worklist tickets
     * ranked by photo similarity, distance, category and time, best first, each with its
     * `reason` ("photo 94 % similar, 12 m away, same category, 2 days ago"). Offline.
     */
    suspend fun nearbyCandidates(id: String, radiusM: Double = 50.0, days: Int = 7): List<NearbyReport> =
        call { nearbyCandidates(id, radiusM, days) }

    /**
     * The fraud signals of submitted report [id] as the device sees them offline (mock location,
     * stale fix, photo time or place far off, no camera EXIF, a re-used photo, impossible speed).
     * None blocks the report; the server re-checks them. Empty for a draft.
     */
    suspend fun fraudSignals(id: String): List<FraudSignal> = call { fraudSignals(id) }

    /**
     * Syncs: sends the outbox in batches, uploads photos, pulls ticket changes. Emits
     * [SyncEvent.Progress] while it runs and [SyncEvent.Finished] last. Network trouble does not
     * throw: the summary says `incomplete` and `nextRetryAt`. Throws [BusyException] when
     * another sync runs on this database. Cancelling the collector stops the run: the request
     * in flight is cancelled too (the transport's and token source's coroutines are cancelled,
     * an [OkHttpTransport] cancels its call).
     */
    fun sync(settings: SyncSettings = SyncSettings()): Flow<SyncEvent> = callbackFlow {
        val handle = SyncHandle()
        val listener = object : SyncObserver {
            override fun onProgress(progress: SyncProgress) {
                trySend(SyncEvent.Progress(progress))
            }
        }
        val run = launch(io) {
            try {
                val summary = native { sync(settings, listener, handle) }
                send(SyncEvent.Finished(summary))
                channel.close()
            } catch (e: Throwable) {
                channel.close(e)
            }
        }
        awaitClose {
            // Harmless after the run ended; stops it at once when the collector went away.
            handle.cancel()
            // Freed once the native call (if still returning) lets go of it.
            handle.destroy()
        }
    }.flowOn(io)

    /** Syncs and returns the summary (see [sync]). */
    suspend fun syncNow(settings: SyncSettings = SyncSettings()): SyncSummary =
        (sync(settings).last() as SyncEvent.Finished).summary

    /** When the scheduler should run sync again (ms since epoch), or `null`. */
    suspend fun nextRetryAt(): Long? = call { nextRetryAt() }

    /** Rider: verification tasks (核查) as the last sync pulled them; works offline. */
    suspend fun tasks(): List<VerificationTask> = call { tasks() }

    /**
     * Rider: files an on-the-spot verification of [ticketId] — is the problem [fixed]? — with
     * the rider's [location], an optional [note] and [photos], queued like any report and sent
     * by the next sync. "Not fixed" sends the ticket back to its department. A location far
     * from a pulled task's ticket is refused here with `field = "location"`.
     */
    suspend fun verify(
        ticketId: String,
        fixed: Boolean,
        location: LocationFix,
        note: String = "",
        photos: List<String> = emptyList(),
    ): Report = call {
        val draft = createVerification(ticketId, fixed)
        try {
            updateDraft(draft.id, DraftPatch(note = note, location = location))
            photos.forEach { attachPhoto(draft.id, it) }
            submit(draft.id)
        } catch (e: Exception) {
            // Nothing half-filed is left behind; the caller gets the reason.
            runCatching { deleteDraft(draft.id) }
            throw e
        }
    }

    /**
     * Supervisor: pulls the tickets of their grids (only [statuses] when not empty). Cancelling
     * the calling coroutine stops it, the request in flight included.
     */
    suspend fun refreshWorklist(statuses: List<TicketStatus> = emptyList()): Long =
        cancellable { refreshWorklist(statuses, it) }

    /**
     * Supervisor: the server's duplicate candidates for ticket [ticketId], best first, each with
     * its `reason` (`note` and `state` are empty: the server does not send them). Needs the
     * network; cancelling the calling coroutine cancels the request.
     */
    suspend fun ticketCandidates(ticketId: String): List<NearbyReport> =
        cancellable { ticketCandidates(ticketId, it) }

    /** Supervisor: the offline worklist (see [worklistUpdates] for a flow). */
    suspend fun worklist(statuses: List<TicketStatus> = emptyList()): List<Ticket> = call { worklist(statuses) }

    /** Supervisor: decides on a ticket offline; [sendTriage] sends it with the ticket's version. */
    suspend fun queueTriage(ticketId: String, action: TriageAction): Long = call { queueTriage(ticketId, action) }

    /** Supervisor: decisions queued, sent, in conflict or failed. */
    suspend fun triageActions(): List<QueuedTriage> = call { triageActions() }

    /**
     * Supervisor: sends queued decisions; a changed ticket comes back as a conflict. Cancelling
     * the calling coroutine stops it, the request in flight included; what was not sent stays
     * queued.
     */
    suspend fun sendTriage(): TriageSummary = cancellable { sendTriage(it) }

    /**
     * Sign-out: deletes every report, photo (the files too), location, ticket and triage
     * decision. Throws [UnsentException] (with the counts) while work is not on the server,
     * unless [force]; [BusyException] while a sync runs. Close this instance afterwards.
     */
    suspend fun wipe(force: Boolean = false) = call { wipe(force) }

    /**
     * Stops a running sync (cancelling its request in flight), closes the database and frees
     * the native object. Safe to call
     * again (does nothing); every other call afterwards throws [ClosedException].
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        client.cancelSync()
        try {
            client.removeObserver(observerId)
            client.closeStore()
        } catch (_: GridlineException) {
            // Already closed natively; nothing left to release but the handle.
        }
        // Frees the Rust object once calls still in flight (a sync stopping) have returned.
        client.destroy()
    }

    /** Whether [close] ran (the native object is released or being released). */
    val isClosed: Boolean get() = closed.get()

    /** The generated object, for the SDK's own tests. */
    internal fun nativeClient(): GridlineClient = client
}

/** What [Gridline.sync] emits. */
sealed interface SyncEvent {
    /** A step forward in one phase. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The run ended; the last event. */
    data class Finished(val summary: SyncSummary) : SyncEvent
}
