import Foundation
import GridlineFFI
import Security

/// Keeps the rider's bearer token in the Keychain (this device only, after first unlock, so
/// background sync works) and awaits the app's `refresh` closure for a new one when the server
/// refused the stored token. Any error becomes `TokenError.Unavailable`, which Gridline
/// reports as an auth error; queued reports are never lost. Cancelled with the sync.
public final class KeychainTokenProvider: TokenProvider, Sendable {
    private let service: String
    private let account: String
    private let refresh: @Sendable () async throws -> String

    /// Stores tokens under `service`/`account`; `refresh` fetches a new token from the app's login.
    public init(service: String = "org.gridline.token", account: String, refresh: @escaping @Sendable () async throws -> String) {
        self.service = service
        self.account = account
        self.refresh = refresh
    }

    /// The stored token, or (with `wantFresh`, or none stored) a fresh one from `refresh`.
    public func token(refresh wantFresh: Bool) async throws -> String {
        if !wantFresh, let stored = read() { return stored }
        do {
            let fresh = try await refresh()
            try store(fresh)
            return fresh
        } catch {
            throw TokenError.Unavailable(reason: String(describing: error))
        }
    }

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service, kSecAttrAccount as String: account]
    }

    private func read() -> String? {
        var q = query
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        guard SecItemCopyMatching(q as CFDictionary, &item) == errSecSuccess, let data = item as? Data else { return nil }
        return String(data: data, encoding: .utf8)
    }

    private func store(_ token: String) throws {
        SecItemDelete(query as CFDictionary)
        var q = query
        q[kSecValueData as String] = Data(token.utf8)
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw TokenError.Unavailable(reason: "Keychain error \(status)") }
    }
}

/// A token provider from a closure, plain or `async` (tests, apps with their own storage or an
/// async auth library). Anything it throws becomes an auth error; cancelled with the sync.
public final class ClosureTokenProvider: TokenProvider, Sendable {
    private let body: @Sendable (Bool) async throws -> String
    /// `body(refresh)` returns the token.
    public init(_ body: @escaping @Sendable (Bool) async throws -> String) { self.body = body }
    /// Calls the closure.
    public func token(refresh: Bool) async throws -> String {
        do { return try await body(refresh) } catch { throw TokenError.Unavailable(reason: String(describing: error)) }
    }
}
