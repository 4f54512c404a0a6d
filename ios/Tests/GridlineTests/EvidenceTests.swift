import Foundation
import XCTest
@testable import Gridline

/// Mirrors android/sdk/src/test/kotlin/org/gridline/sdk/EvidenceTest.kt: a mock location's
/// fraud signal offline and on the ticket, the server's signature check in the worklist, and
/// duplicate candidates with their reasons on both sides. Needs GRIDLINE_BINARY (see
/// GridlineTests).
final class EvidenceTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    private func open(_ name: String) async throws -> Gridline {
        try await Gridline.open(dbPath: dir.appendingPathComponent("\(name).db").path, reporter: name, appVersion: "swift-test")
    }

    private func pothole(_ g: Gridline, lat: Double, mock: Bool = false) async throws -> String {
        let id = try await g.createDraft(kind: .roadDamage).id
        let fix = LocationFix(lat: lat, lon: 121.53, accuracyM: 6, altitudeM: nil, provider: .gps,
                              fixTime: Int64(Date().timeIntervalSince1970 * 1000), mock: mock, sourceCrs: .wgs84)
        _ = try await g.updateDraft(id: id, patch: DraftPatch(category: "pothole", note: "pothole by the bus stop", location: fix,
                                                             setAttributes: ["size": .text("large")], removeAttributes: [], outreach: nil))
        _ = try await g.submit(id: id)
        return id
    }

    func testSignalsSignatureChecksAndDuplicateCandidatesReachSwift() async throws {
        let server = try TestServer()
        defer { server.stop() }
        try server.importGrids(TestServer.grid)
        let riderToken = try server.addUser(name: "rider-e", role: "rider")
        let supToken = try server.addUser(name: "sup-e", role: "supervisor", grids: ["HS-01"])
        let rider = try await open("rider-e")
        defer { rider.close() }
        let first = try await pothole(rider, lat: 29.8610)
        let second = try await pothole(rider, lat: 29.86103)
        let mocked = try await pothole(rider, lat: 29.8650, mock: true)

        let clean = try await rider.fraudSignals(id: first)
        XCTAssertEqual(clean, [])
        let signals = try await rider.fraudSignals(id: mocked)
        XCTAssertEqual(signals.first { $0.name == "mock_location" }?.severity, .high)
        let nearby = try await rider.nearbyCandidates(id: second)
        XCTAssertEqual(nearby.first?.reportId, first)
        XCTAssertTrue(nearby.first?.reason.contains("m away") ?? false)

        try server.start()
        try await rider.setServer(url: server.url, tokens: ClosureTokenProvider { _ in riderToken })
        let summary = try await rider.syncNow()
        XCTAssertEqual(summary.sent, 3)

        let sup = try await open("sup-e")
        defer { sup.close() }
        try await sup.setServer(url: server.url, tokens: ClosureTokenProvider { _ in supToken })
        let refreshed = try await sup.refreshWorklist()
        XCTAssertEqual(refreshed, 3)
        let tickets = Dictionary(uniqueKeysWithValues: try await sup.worklist().map { ($0.reportId, $0) })
        for ticket in tickets.values {
            XCTAssertEqual(ticket.evidence?.signature, .valid)
            XCTAssertEqual(ticket.mergedReports, 0)
        }
        XCTAssertTrue(tickets[mocked]?.evidence?.signals.contains { $0.name == "mock_location" } ?? false)

        let candidates = try await sup.ticketCandidates(ticketId: tickets[first]?.id ?? "")
        XCTAssertEqual(candidates.first?.ticketId, tickets[second]?.id)
        XCTAssertTrue(candidates.first?.reason.contains("m away") ?? false)
        do {
            _ = try await sup.ticketCandidates(ticketId: "../../etc/passwd")
            XCTFail("a hostile ticket id was accepted")
        } catch is GridlineError {
        }
    }
}
