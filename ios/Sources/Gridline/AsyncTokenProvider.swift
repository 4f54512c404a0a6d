import Foundation
import GridlineFFI

/// The app's login as an `async` function: the bearer token of the signed-in user, refreshed
/// when `refresh` is true (the server refused the last one). Anything thrown becomes an auth
/// error; queued reports are never lost.
public protocol AsyncTokenProvider: Sendable {
    /// The current (or, with `refresh`, a fresh) token.
    func token(refresh: Bool) async throws -> String
}

/// An ``AsyncTokenProvider`` from a closure.
public struct AsyncClosureTokenProvider: AsyncTokenProvider {
    private let body: @Sendable (Bool) async throws -> String
    /// `body(refresh)` returns the token.
    public init(_ body: @escaping @Sendable (Bool) async throws -> String) { self.body = body }
    /// Calls the closure.
    public func token(refresh: Bool) async throws -> String { try await body(refresh) }
}

/// Adapts an async provider to the core, which asks on its sync thread (never the main
/// thread) and waits there for the answer.
final class AsyncTokenBridge: TokenProvider, @unchecked Sendable {
    private let provider: AsyncTokenProvider

    init(_ provider: AsyncTokenProvider) { self.provider = provider }

    func token(refresh: Bool) throws -> String {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let provider = self.provider
        Task.detached {
            do { box.set(.success(try await provider.token(refresh: refresh))) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        switch box.get() {
        case .success(let token): return token
        case .failure(let error): throw TokenError.Unavailable(reason: String(describing: error))
        case .none: throw TokenError.Unavailable(reason: "the token provider gave no answer")
        }
    }
}

/// One result handed from the task to the waiting thread.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<String, Error>?
    func set(_ v: Result<String, Error>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<String, Error>? { lock.lock(); defer { lock.unlock() }; return value }
}
