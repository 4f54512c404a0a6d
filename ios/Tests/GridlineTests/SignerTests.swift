import CryptoKit
import Foundation
import XCTest
@testable import Gridline

/// Mirrors android/sdk/src/test/kotlin/org/gridline/sdk/SignerTest.kt: an app signer over
/// CryptoKit's Ed25519 signs reports the real reference server records as `valid`; one that
/// throws costs the signature, never the report. Needs GRIDLINE_BINARY (see GridlineTests).
final class SignerTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    private func open(_ name: String) async throws -> Gridline {
        try await Gridline.open(dbPath: dir.appendingPathComponent("\(name).db").path, reporter: name, appVersion: "swift-test")
    }

    /// A CryptoKit Ed25519 key; `failing` makes every signature throw (a locked keystore).
    private struct CryptoKitSigner: Signer {
        let key = Curve25519.Signing.PrivateKey()
        var failing = false

        func publicKey() throws -> Data { key.publicKey.rawRepresentation }

        func sign(digest: Data) throws -> Data {
            if failing { throw NSError(domain: "Keystore", code: 1, userInfo: [NSLocalizedDescriptionKey: "keystore locked"]) }
            return try key.signature(for: digest)
        }
    }

    private struct NoKey: Signer {
        func publicKey() throws -> Data { throw NSError(domain: "Keystore", code: 2, userInfo: [NSLocalizedDescriptionKey: "no key in the keystore"]) }
        func sign(digest: Data) throws -> Data { Data() }
    }

    private func pothole(_ g: Gridline) async throws -> String {
        let id = try await g.createDraft(kind: .roadDamage).id
        let fix = LocationFix(lat: 29.86, lon: 121.53, accuracyM: 6, altitudeM: nil, provider: .gps,
                              fixTime: Int64(Date().timeIntervalSince1970 * 1000), mock: false, sourceCrs: .wgs84)
        _ = try await g.updateDraft(id: id, patch: DraftPatch(category: "pothole", note: "signed from Swift", location: fix,
                                                             setAttributes: ["size": .text("large")], removeAttributes: [], outreach: nil))
        _ = try await g.submit(id: id)
        return id
    }

    /// What the server recorded about the signature of `reportId`'s ticket.
    private func outcome(_ server: TestServer, token: String, _ g: Gridline, _ reportId: String) async throws -> String {
        let ticket = try await g.get(id: reportId).ticketId ?? ""
        var request = URLRequest(url: URL(string: "\(server.url)/v1/tickets/\(ticket)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (object?["evidence"] as? [String: Any])?["signature"] as? String ?? ""
    }

    func testAnAppEd25519SignerSignsReportsTheServerVerifies() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.addUser(name: "li", role: "rider")
        try server.start()
        let g = try await open("li")
        defer { g.close() }
        let keyId = try await g.setSigner(CryptoKitSigner())
        XCTAssertEqual(keyId.count, 32)
        let current = try await g.signingKeyId()
        XCTAssertEqual(current, keyId)
        let report = try await pothole(g)
        try await g.setServer(url: server.url, tokens: ClosureTokenProvider { _ in token })
        let summary = try await g.syncNow()
        XCTAssertEqual(summary.sent, 1)
        let valid = try await outcome(server, token: token, g, report)
        XCTAssertEqual(valid, "valid")

        let rotated = try await g.rotateSigningKey()
        XCTAssertNotEqual(rotated, keyId)
    }

    func testAThrowingSignerLeavesTheReportFiledUnsigned() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.addUser(name: "wang", role: "rider")
        try server.start()
        let g = try await open("wang")
        defer { g.close() }
        _ = try await g.setSigner(CryptoKitSigner(failing: true))
        let report = try await pothole(g)
        try await g.setServer(url: server.url, tokens: ClosureTokenProvider { _ in token })
        let summary = try await g.syncNow()
        XCTAssertEqual(summary.sent, 1)
        let unsigned = try await outcome(server, token: token, g, report)
        XCTAssertEqual(unsigned, "unsigned")
    }

    func testASignerWithoutAPublicKeyIsRefusedAndTheKeyInUseStays() async throws {
        let g = try await open("zhao")
        defer { g.close() }
        let before = try await g.signingKeyId()
        do {
            _ = try await g.setSigner(NoKey())
            XCTFail("a signer without a public key was accepted")
        } catch GridlineError.Storage {
        }
        let after = try await g.signingKeyId()
        XCTAssertEqual(after, before)
    }
}
