import Foundation
@_exported import GridlineFFI

/// A report as the device keeps it (the core's `LocalReport`).
public typealias Report = LocalReport

/// Gridline on a rider's (or supervisor's) iPhone: an offline outbox of reports with photos and
/// geotags, synced in batches to the city grid server. Mirrors the Kotlin `Gridline` one for one.
///
/// Every method is `async` and runs the synchronous native call on a background queue (disk and
/// network never block the main actor). A report is safe on disk when ``submit(id:)`` returns.
/// Errors are ``GridlineError`` cases, e.g. `.Validation(field:reason:)`; `.Busy` when another
/// sync runs on the database (this app's or an extension's), `.Unsent` when ``wipe(force:)``
/// would lose work. ``statusUpdates()`` and ``countsUpdates()`` follow the shared state.
/// ``close()`` stops a running sync and may be called again (it does nothing); every other call
/// after it throws `.Closed`.
///
/// `Sendable` as checked by the compiler: every stored property is immutable and `Sendable`; the
/// one changing fact (closed or not) lives behind a lock in a small private type.
public final class Gridline: Sendable {
    private let client: GridlineClient
    private let queue = DispatchQueue(label: "org.gridline.io", qos: .utility, attributes: .concurrent)
    private let relay: ObserverRelay
    private let closing = CloseOnce()
    private let observerId: Int64?

    private init(client: GridlineClient) {
        let relay = ObserverRelay()
        self.client = client
        self.relay = relay
        self.observerId = try? client.addObserver(observer: relay)
    }

    /// The sync status as last reported: idle, syncing with progress, waiting until a retry
    /// time, or failed.
    public var status: SyncStatus { relay.status }

    /// The sync status now and at every change, until the stream's task is cancelled.
    public func statusUpdates() -> AsyncStream<SyncStatus> { relay.statusStream() }

    /// The badge counts now and after every change to the reports.
    public func countsUpdates() -> AsyncThrowingStream<Counts, Error> {
        let changes = relay.changeStream()
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    continuation.yield(try await self.counts())
                    for await change in changes where change == .reports {
                        continuation.yield(try await self.counts())
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Opens (creating or migrating) the database at `dbPath` for the signed-in `reporter`.
    public static func open(dbPath: String, reporter: String, appVersion: String) async throws -> Gridline {
        let client = try await background {
            try GridlineClient.open(config: ClientConfig(dbPath: dbPath, reporter: reporter, appVersion: appVersion))
        }
        return Gridline(client: client)
    }

    private func call<T: Sendable>(_ body: @escaping @Sendable (GridlineClient) throws -> T) async throws -> T {
        if closing.isClosed { throw GridlineError.Closed }
        let client = self.client
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(client) })
            }
        }
    }

    /// Like `call` for a native run that takes a `SyncHandle`: cancelling the calling task
    /// cancels the run (the transport's request in flight too).
    private func cancellable<T: Sendable>(_ body: @escaping @Sendable (GridlineClient, SyncHandle) throws -> T) async throws -> T {
        let handle = SyncHandle()
        return try await withTaskCancellationHandler {
            try await call { try body($0, handle) }
        } onCancel: {
            handle.cancel()
        }
    }

    /// Sets the grid server (`https`, or `http` to loopback), the app's login and optionally its
    /// HTTP stack (e.g. ``URLSessionTransport``). Without one: the library's built-in rustls
    /// stack where it has one, otherwise a ``URLSessionTransport`` (the iOS release library
    /// leaves the built-in out, docs/size.md).
    public func setServer(url: String, tokens: TokenProvider, transport: HttpTransport? = nil) async throws {
        let chosen: HttpTransport? = transport ?? (hasBuiltinTransport() ? nil : URLSessionTransport())
        try await call { try $0.setServer(server: ServerConfig(url: url, tokens: tokens, transport: chosen)) }
    }

    /// Starts a report of `kind`; its id is made now and never changes.
    public func createDraft(kind: ReportKind) async throws -> Report {
        try await call { try $0.createDraft(kind: kind) }
    }

    /// Changes a draft (or a parked report being fixed); each value set is checked now.
    public func updateDraft(id: String, patch: DraftPatch) async throws -> Report {
        try await call { try $0.updateDraft(id: id, patch: patch) }
    }

    /// Processes the photo file at `path` (upright, resized, no metadata) and attaches it.
    /// HEIC must be converted to JPEG first (see the sample app).
    public func attachPhoto(id: String, path: String) async throws -> PhotoRef {
        try await call { try $0.attachPhoto(id: id, path: path) }
    }

    /// Removes a photo from an editable report.
    public func detachPhoto(id: String, sha256: String) async throws {
        try await call { try $0.detachPhoto(id: id, sha256: sha256) }
    }

    /// The file of a processed photo (or its thumbnail), for display.
    public func photoPath(sha256: String, thumbnail: Bool = false) async throws -> String {
        try await call { try $0.photoPath(sha256: sha256, thumbnail: thumbnail) }
    }

    /// A location fix from a photo's EXIF GPS tags, or `nil`.
    public func locationFromPhoto(path: String) async throws -> LocationFix? {
        try await call { try $0.locationFromPhoto(path: path) }
    }

    /// Signs this installation's reports from now on with the app's own key (see ``Signer``)
    /// instead of the built-in software key; returns its key id. The next sync registers it. A
    /// signer that throws at submit leaves that report unsigned, never unfiled; one whose public
    /// key throws is refused here (`.Storage`) and the key in use stays.
    public func setSigner(_ signer: any Signer) async throws -> String {
        let adapter = SignerAdapter(signer)
        return try await call { try $0.setSigner(signer: adapter) }
    }

    /// Rotation: signs from now on with a fresh software key; earlier keys stay registered, so
    /// what they signed still verifies. Returns the new key id.
    public func rotateSigningKey() async throws -> String {
        try await call { try $0.rotateSigningKey() }
    }

    /// The id of the key that signs this installation's reports now.
    public func signingKeyId() async throws -> String {
        try await call { try $0.signingKeyId() }
    }

    /// Validates and queues the report: when this returns it is on disk and will be sent once.
    public func submit(id: String) async throws -> Report {
        try await call { try $0.submit(id: id) }
    }

    /// One report.
    public func get(id: String) async throws -> Report {
        try await call { try $0.get(id: id) }
    }

    /// Reports in `states` (all when empty), newest first.
    public func list(states: [ReportState] = [], limit: Int32? = nil) async throws -> [Report] {
        try await call { try $0.list(states: states, limit: limit) }
    }

    /// Deletes a draft that was never submitted.
    public func deleteDraft(id: String) async throws {
        try await call { try $0.deleteDraft(id: id) }
    }

    /// Report counts per state, for a badge.
    public func counts() async throws -> Counts {
        try await call { try $0.counts() }
    }

    /// The catalog of kinds, categories and attributes, for building forms.
    public func catalog() async throws -> Catalog {
        try await call { try $0.catalog() }
    }

    /// Installs grid polygons (GeoJSON in `crs`); returns their version.
    public func installGrids(geojson: String, crs: CoordSystem = .wgs84) async throws -> String {
        try await call { try $0.installGrids(geojson: geojson, crs: crs) }
    }

    /// The grid containing a WGS-84 point, offline.
    public func locateGrid(lon: Double, lat: Double) async throws -> GridInfo? {
        try await call { try $0.locateGrid(lon: lon, lat: lat) }
    }

    /// Reports of `category` within `radiusM` of a point in the last `days` days.
    public func nearbyReports(lon: Double, lat: Double, category: String, radiusM: Double = 50, days: Int32 = 7) async throws -> [NearbyReport] {
        try await call { try $0.nearbyReports(lon: lon, lat: lat, category: category, radiusM: radiusM, days: days) }
    }

    /// Duplicate candidates for report `id` (draft or filed): nearby reports and worklist tickets
    /// ranked by photo similarity, distance, category and time, best first, each with its
    /// `reason` ("photo 94 % similar, 12 m away, same category, 2 days ago"). Offline.
    public func nearbyCandidates(id: String, radiusM: Double = 50, days: Int32 = 7) async throws -> [NearbyReport] {
        try await call { try $0.nearbyCandidates(id: id, radiusM: radiusM, days: days) }
    }

    /// The fraud signals of submitted report `id` as the device sees them offline (mock location,
    /// stale fix, photo time or place far off, no camera EXIF, a re-used photo, impossible speed).
    /// None blocks the report; the server re-checks them. Empty for a draft.
    public func fraudSignals(id: String) async throws -> [FraudSignal] {
        try await call { try $0.fraudSignals(id: id) }
    }

    /// Syncs: sends the outbox in batches, uploads photos, pulls ticket changes. Yields
    /// ``SyncEvent/progress(_:)`` while it runs and ``SyncEvent/finished(_:)`` last. Network
    /// trouble does not throw (the summary says `incomplete` and `nextRetryAt`). Cancelling the
    /// consuming task stops the run and cancels the transport's request in flight.
    public func sync(settings: SyncSettings = Gridline.defaultSyncSettings) -> AsyncThrowingStream<SyncEvent, Error> {
        let client = self.client
        let queue = self.queue
        let closed = closing.isClosed
        return AsyncThrowingStream { continuation in
            if closed { continuation.finish(throwing: GridlineError.Closed); return }
            let handle = SyncHandle()
            let listener = ProgressRelay { continuation.yield(.progress($0)) }
            queue.async {
                do {
                    let summary = try client.sync(settings: settings, listener: listener, handle: handle)
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// Syncs and returns the summary (see ``sync(settings:)``).
    public func syncNow(settings: SyncSettings = Gridline.defaultSyncSettings) async throws -> SyncSummary {
        var last: SyncSummary?
        for try await event in sync(settings: settings) {
            if case let .finished(summary) = event { last = summary }
        }
        guard let summary = last else { throw GridlineError.Network(reason: "sync ended without a summary", retryable: true) }
        return summary
    }

    /// When BGTaskScheduler should run sync again (ms since the epoch), or `nil`.
    public func nextRetryAt() async throws -> Int64? {
        try await call { try $0.nextRetryAt() }
    }

    /// Supervisor: pulls the tickets of their grids (only `statuses` when not empty). Cancelling
    /// the calling task stops it, the request in flight included.
    public func refreshWorklist(statuses: [TicketStatus] = []) async throws -> Int64 {
        try await cancellable { try $0.refreshWorklist(statuses: statuses, handle: $1) }
    }

    /// Rider: verification tasks (核查) as the last sync pulled them; works offline.
    public func tasks() async throws -> [VerificationTask] {
        try await call { try $0.tasks() }
    }

    /// Rider: files an on-the-spot verification of `ticketId` (is the problem `fixed`?) with the
    /// rider's `location`, a `note` and `photos`, queued like any report and sent by the next
    /// sync. "Not fixed" sends the ticket back to its department. A location far from a pulled
    /// task's ticket is refused here (`GridlineError.Validation`, field `location`) and nothing
    /// half-filed is left behind.
    public func verify(ticketId: String, fixed: Bool, location: LocationFix, note: String = "",
                       photos: [String] = []) async throws -> Report {
        try await call { client in
            let draft = try client.createVerification(ticketId: ticketId, fixed: fixed)
            do {
                _ = try client.updateDraft(id: draft.id, patch: DraftPatch(note: note, location: location))
                for path in photos {
                    _ = try client.attachPhoto(id: draft.id, path: path)
                }
                return try client.submit(id: draft.id)
            } catch {
                try? client.deleteDraft(id: draft.id)
                throw error
            }
        }
    }

    /// Supervisor: the server's duplicate candidates for ticket `ticketId`, best first, each with
    /// its `reason` (`note` and `state` are empty: the server does not send them). Needs the
    /// network; cancelling the task cancels the request.
    public func ticketCandidates(ticketId: String) async throws -> [NearbyReport] {
        try await cancellable { try $0.ticketCandidates(ticketId: ticketId, handle: $1) }
    }

    /// Supervisor: the offline worklist.
    public func worklist(statuses: [TicketStatus] = []) async throws -> [Ticket] {
        try await call { try $0.worklist(statuses: statuses) }
    }

    /// Supervisor: decides on a ticket offline; ``sendTriage()`` sends it with the ticket's version.
    public func queueTriage(ticketId: String, action: TriageAction) async throws -> Int64 {
        try await call { try $0.queueTriage(ticketId: ticketId, action: action) }
    }

    /// Supervisor: decisions queued, sent, in conflict or failed.
    public func triageActions() async throws -> [QueuedTriage] {
        try await call { try $0.triageActions() }
    }

    /// Supervisor: sends queued decisions; a changed ticket comes back as a conflict. Cancelling
    /// the calling task stops it, the request in flight included; what was not sent stays queued.
    public func sendTriage() async throws -> TriageSummary {
        try await cancellable { try $0.sendTriage(handle: $1) }
    }

    /// Sign-out: deletes every report, photo (the files too), location, ticket and triage
    /// decision. Throws `.Unsent(reports:photos:triage:)` while work is not on the server unless
    /// `force`; `.Busy` while a sync runs. Close the instance afterwards.
    public func wipe(force: Bool = false) async throws {
        try await call { try $0.wipe(force: force) }
    }

    /// Stops a running sync (cancelling its request in flight) and closes the database. Calling
    /// it again does nothing.
    public func close() {
        guard closing.close() else { return }
        client.cancelSync()
        if let id = observerId { _ = try? client.removeObserver(id: id) }
        try? client.closeStore()
        relay.finish()
    }

    /// The default sync tuning (batches of up to 200, six in-run retries).
    public static let defaultSyncSettings = SyncSettings(maxBatch: 200, maxRetries: 6, maxSleepMs: 10_000, requestTimeoutMs: 30_000)
}

/// What ``Gridline/sync(settings:)`` yields.
public enum SyncEvent: Sendable {
    /// A step forward in one phase.
    case progress(SyncProgress)
    /// The run ended; the last event.
    case finished(SyncSummary)
}

/// Relays progress from the syncing thread to a stream.
private final class ProgressRelay: SyncObserver, Sendable {
    private let emit: @Sendable (SyncProgress) -> Void
    init(_ emit: @escaping @Sendable (SyncProgress) -> Void) { self.emit = emit }
    func onProgress(progress: SyncProgress) { emit(progress) }
}

/// Whether ``Gridline/close()`` ran: set once, read from any thread.
// unchecked: the flag is only read and written with `lock` held (Mutex needs iOS 18).
private final class CloseOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false

    /// Marks it closed; `true` only for the first caller.
    func close() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if closed { return false }
        closed = true
        return true
    }

    /// Whether `close()` ran.
    var isClosed: Bool {
        lock.lock(); defer { lock.unlock() }
        return closed
    }
}

/// Receives the core's status and change notifications and fans them out to streams. The core
/// calls it synchronously from its own threads, so it cannot be an actor.
// unchecked: `current` and the sink tables are only touched with `lock` held, never across a yield.
private final class ObserverRelay: ClientObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var current: SyncStatus = .idle
    private var statusSinks: [UUID: AsyncStream<SyncStatus>.Continuation] = [:]
    private var changeSinks: [UUID: AsyncStream<DataChange>.Continuation] = [:]

    var status: SyncStatus {
        lock.lock(); defer { lock.unlock() }
        return current
    }

    func onStatus(status: SyncStatus) {
        lock.lock()
        current = status
        let sinks = Array(statusSinks.values)
        lock.unlock()
        for sink in sinks { sink.yield(status) }
    }

    func onChange(change: DataChange) {
        lock.lock()
        let sinks = Array(changeSinks.values)
        lock.unlock()
        for sink in sinks { sink.yield(change) }
    }

    func statusStream() -> AsyncStream<SyncStatus> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let id = UUID()
            lock.lock()
            statusSinks[id] = continuation
            let now = current
            lock.unlock()
            continuation.yield(now)
            continuation.onTermination = { [weak self] _ in self?.remove(status: id) }
        }
    }

    func changeStream() -> AsyncStream<DataChange> {
        AsyncStream(bufferingPolicy: .bufferingNewest(8)) { continuation in
            let id = UUID()
            lock.lock()
            changeSinks[id] = continuation
            lock.unlock()
            continuation.onTermination = { [weak self] _ in self?.remove(change: id) }
        }
    }

    private func remove(status id: UUID) {
        lock.lock(); statusSinks[id] = nil; lock.unlock()
    }

    private func remove(change id: UUID) {
        lock.lock(); changeSinks[id] = nil; lock.unlock()
    }

    func finish() {
        lock.lock()
        let sinks = (Array(statusSinks.values), Array(changeSinks.values))
        statusSinks = [:]
        changeSinks = [:]
        lock.unlock()
        for sink in sinks.0 { sink.finish() }
        for sink in sinks.1 { sink.finish() }
    }
}

/// Runs blocking work off the caller's executor.
private func background<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .utility).async { continuation.resume(with: Result { try body() }) }
    }
}
