#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Foundation

/// Background sync with `BGTaskScheduler`, mirroring the Android `SyncJobService`: one sync
/// when the system grants time with a network, then the next request at the core's
/// `nextRetryAt` when the run ended on network trouble. `.Busy` (the app's own sync runs),
/// `.Auth` and `.Closed` end the task quietly; expiry cancels the sync, which stops the native
/// run, and asks again.
///
/// Add the identifier to `BGTaskSchedulerPermittedIdentifiers` in Info.plist and the
/// `processing` or `fetch` background mode; call ``register(gridline:)`` before the app
/// finishes launching, and ``schedule(after:)`` after a submit.
public final class BackgroundSync: Sendable {
    /// The task identifier (must be listed in Info.plist).
    public let identifier: String
    private let gridline: @Sendable () -> Gridline?

    /// `gridline` hands out the app's open instance (nil when signed out).
    public init(identifier: String = "org.gridline.sync", gridline: @escaping @Sendable () -> Gridline?) {
        self.identifier = identifier
        self.gridline = gridline
    }

    /// Registers the launch handler; call once, before `application(_:didFinishLaunchingWithOptions:)` returns.
    @discardableResult
    public func register() -> Bool {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { [self] task in
            guard let task = task as? BGProcessingTask else { task.setTaskCompleted(success: false); return }
            handle(task)
        }
    }

    /// Asks for a sync no earlier than `delay` seconds from now, with a network.
    public func schedule(after delay: TimeInterval = 0) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = Date(timeIntervalSinceNow: max(0, delay))
        try? BGTaskScheduler.shared.submit(request)
    }

    /// Cancels the pending request (at sign-out, before `wipe`).
    public func cancel() {
        BGTaskScheduler.shared.cancel(taskRequestWithIdentifier: identifier)
    }

    private func handle(_ task: BGProcessingTask) {
        guard let gridline = gridline() else { task.setTaskCompleted(success: true); return }
        let granted = Granted(task: task)
        let work = Task { [self] in
            var success = true
            var nextAtMs: Int64?
            do {
                nextAtMs = try await gridline.syncNow().nextRetryAt
            } catch is CancellationError {
                success = false
            } catch GridlineError.Busy {
                // Another sync runs and leaves its own retry time.
            } catch GridlineError.Auth {
                // The user must sign in again; nothing to retry until then.
            } catch GridlineError.Closed {
                // Signed out meanwhile.
            } catch {
                nextAtMs = try? await gridline.nextRetryAt()
                success = false
            }
            if let at = nextAtMs { schedule(after: TimeInterval(at) / 1000 - Date().timeIntervalSince1970) }
            granted.task.setTaskCompleted(success: success)
        }
        task.expirationHandler = { [self] in
            work.cancel() // ends the sync stream, which cancels the native run
            schedule()
        }
    }
}

/// Carries the system's task into the sync `Task`.
// unchecked: BGTask is not marked Sendable, but `setTaskCompleted(success:)` may be called from
// any thread (BackgroundTasks documentation), and nothing else of it is touched there.
private struct Granted: @unchecked Sendable {
    let task: BGProcessingTask
}
#endif
