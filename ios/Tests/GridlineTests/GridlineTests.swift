import Foundation
import XCTest
@testable import Gridline

/// Mirrors android/sdk/src/test/kotlin/org/gridline/sdk/GridlineTest.kt. Needs the `gridline`
/// binary (env GRIDLINE_BINARY) to start the reference server; run on macOS after
/// scripts/build-xcframework.sh. Not run on this project's CI (no Swift toolchain there).
final class GridlineTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    private func fix(lat: Double = 29.86, lon: Double = 121.53) -> LocationFix {
        LocationFix(lat: lat, lon: lon, accuracyM: 6, altitudeM: nil, provider: .gps,
                    fixTime: Int64(Date().timeIntervalSince1970 * 1000), mock: false, sourceCrs: .wgs84)
    }

    private func patch(_ category: String, _ attrs: [String: AttrValue], location: LocationFix? = nil, outreach: Outreach? = nil) -> DraftPatch {
        DraftPatch(category: category, note: "filed from Swift", location: location ?? fix(),
                   setAttributes: attrs, removeAttributes: [], outreach: outreach)
    }

    private func open(_ name: String) async throws -> Gridline {
        try await Gridline.open(dbPath: dir.appendingPathComponent("\(name).db").path, reporter: name, appVersion: "swift-test")
    }

    private func jpeg(_ name: String) throws -> String {
        // A tiny valid JPEG is enough for the pipeline; real apps hand camera files.
        let url = dir.appendingPathComponent(name)
        try TestImages.grayJPEG(width: 320, height: 240).write(to: url)
        return url.path
    }

    private func fileThreeKinds(_ g: Gridline, photo: String? = nil) async throws -> [String] {
        let road = try await g.createDraft(kind: .roadDamage).id
        _ = try await g.updateDraft(id: road, patch: patch("pothole", ["size": .text("large")]))
        if let photo { _ = try await g.attachPhoto(id: road, path: photo) }
        let bin = try await g.createDraft(kind: .garbageSorting).id
        _ = try await g.updateDraft(id: bin, patch: patch("overflowing_bin", ["bin_types": .choices(["kitchen", "residual"])]))
        let talk = try await g.createDraft(kind: .antiFraudOutreach).id
        _ = try await g.updateDraft(id: talk, patch: patch("street_talk", ["topics": .choices(["telecom_fraud"])],
                                                          outreach: Outreach(peopleReached: 25, materialsHandedOut: 40, venueType: .street)))
        for id in [road, bin, talk] { _ = try await g.submit(id: id) }
        return [road, bin, talk]
    }

    func testOfflineFilingSyncTriageAndStatuses() async throws {
        let server = try TestServer()
        defer { server.stop() }
        try server.importGrids(TestServer.grid)
        let riderToken = try server.addUser(name: "rider-s", role: "rider")
        let supToken = try server.addUser(name: "sup-s", role: "supervisor", grids: ["HS-01"])
        let rider = try await open("rider-s")
        let ids = try await fileThreeKinds(rider, photo: try jpeg("pothole.jpg"))
        let pending = try await rider.counts().pending
        XCTAssertEqual(pending, 3)

        try server.start()
        try await rider.setServer(url: server.url, tokens: ClosureTokenProvider { _ in riderToken })
        var sawProgress = false
        var summary: SyncSummary?
        for try await event in rider.sync() {
            switch event {
            case let .progress(p): if p.total == 3 { sawProgress = true }
            case let .finished(s): summary = s
            }
        }
        XCTAssertTrue(sawProgress)
        XCTAssertEqual(summary?.sent, 3)
        XCTAssertEqual(summary?.photos, 1)

        let sup = try await open("sup-s")
        try await sup.setServer(url: server.url, tokens: ClosureTokenProvider { _ in supToken })
        _ = try await sup.refreshWorklist()
        let ticket = try await sup.worklist().first { $0.category == "pothole" }!
        XCTAssertEqual(ticket.gridId, "HS-01")
        _ = try await sup.queueTriage(ticketId: ticket.id, action: .accept)
        let applied = try await sup.sendTriage().applied
        XCTAssertEqual(applied, 1)
        _ = try await rider.syncNow()
        let status = try await rider.get(id: ids[0]).ticketStatus
        XCTAssertEqual(status, .accepted)
    }

    func testARiderFilesAFailedVerificationThatReopensTheTicket() async throws {
        let server = try TestServer()
        defer { server.stop() }
        try server.importGrids(TestServer.grid)
        let liToken = try server.addUser(name: "rider-li", role: "rider")
        let zhaoToken = try server.addUser(name: "rider-zhao", role: "rider")
        let supToken = try server.addUser(name: "sup-s", role: "supervisor", grids: ["HS-01"])
        try server.start()
        let li = try await open("rider-li")
        let zhao = try await open("rider-zhao")
        try await li.setServer(url: server.url, tokens: ClosureTokenProvider { _ in liToken })
        try await zhao.setServer(url: server.url, tokens: ClosureTokenProvider { _ in zhaoToken })
        let report = try await fileThreeKinds(li)[0]
        _ = try await fileThreeKinds(zhao) // zhao works this grid too
        _ = try await li.syncNow()
        _ = try await zhao.syncNow()
        let ticket = try await li.get(id: report).ticketId!

        let sup = try await open("sup-s")
        try await sup.setServer(url: server.url, tokens: ClosureTokenProvider { _ in supToken })
        for action in [TriageAction.accept, .dispatch(department: "市政"), .resolve(note: "已填补")] {
            _ = try await sup.refreshWorklist()
            _ = try await sup.queueTriage(ticketId: ticket, action: action)
            let applied = try await sup.sendTriage().applied
            XCTAssertEqual(applied, 1)
        }

        _ = try await zhao.syncNow()
        let task = try await zhao.tasks().first { $0.ticketId == ticket }!
        do {
            _ = try await zhao.verify(ticketId: ticket, fixed: true, location: fix(lat: task.lat + 0.01, lon: task.lon))
            XCTFail("a verification far from the ticket must be refused")
        } catch let GridlineError.Validation(field, _) {
            XCTAssertEqual(field, "location")
        }
        let filed = try await zhao.verify(ticketId: ticket, fixed: false, location: fix(lat: task.lat, lon: task.lon),
                                          note: "还是坑", photos: [try jpeg("check.jpg")])
        XCTAssertEqual(filed.kind, .verification)
        let sent = try await zhao.syncNow().sent
        XCTAssertEqual(sent, 1)
        _ = try await li.syncNow()
        let status = try await li.get(id: report).ticketStatus
        XCTAssertEqual(status, .dispatched)
    }

    func testHostileInputIsTypedAndChangesNothing() async throws {
        let g = try await open("rider-h")
        let id = try await g.createDraft(kind: .roadDamage).id
        let before = try await g.updateDraft(id: id, patch: patch("pothole", ["size": .text("large")]))
        do {
            _ = try await g.updateDraft(id: id, patch: patch("pothole", [:], location: fix(lat: .nan)))
            XCTFail("NaN accepted")
        } catch GridlineError.Validation(let field, _) { XCTAssertEqual(field, "location.lat") }
        do {
            _ = try await g.updateDraft(id: id, patch: patch("volcano", [:]))
            XCTFail("unknown category accepted")
        } catch GridlineError.Validation(let field, _) { XCTAssertEqual(field, "category") }
        let corrupt = dir.appendingPathComponent("corrupt.jpg")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 31) }).write(to: corrupt)
        do {
            _ = try await g.attachPhoto(id: id, path: corrupt.path)
            XCTFail("corrupt photo accepted")
        } catch GridlineError.Photo { }
        do {
            _ = try await g.get(id: "not-an-id")
            XCTFail("bad id accepted")
        } catch GridlineError.Validation(let field, _) { XCTAssertEqual(field, "id") }
        let after = try await g.get(id: id)
        XCTAssertEqual(after, before)
    }

    func testThrowingTokenProviderIsAnAuthError() async throws {
        let server = try TestServer()
        defer { server.stop() }
        try server.start()
        let g = try await open("rider-t")
        let ids = try await fileThreeKinds(g)
        struct SignedOut: Error {}
        try await g.setServer(url: server.url, tokens: ClosureTokenProvider { _ in throw SignedOut() })
        do {
            _ = try await g.syncNow()
            XCTFail("sync succeeded without a token")
        } catch GridlineError.Auth { }
        for id in ids {
            let state = try await g.get(id: id).state
            XCTAssertEqual(state, .queued)
        }
    }

    func testURLSessionTransportCarriesASync() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let token = try server.addUser(name: "rider-u", role: "rider")
        try server.start()
        let g = try await open("rider-u")
        _ = try await fileThreeKinds(g, photo: try jpeg("u.jpg"))
        try await g.setServer(url: server.url, tokens: ClosureTokenProvider { _ in token }, transport: URLSessionTransport())
        let summary = try await g.syncNow()
        XCTAssertEqual(summary.sent, 3)
        XCTAssertEqual(summary.photos, 1)
    }

    func testClosingTwiceIsSilentAndUseAfterCloseIsClosed() async throws {
        let g = try await open("rider-c")
        g.close()
        g.close()
        do {
            _ = try await g.counts()
            XCTFail("used after close")
        } catch GridlineError.Closed { }
    }

    /// Waits (bounded: about a minute, only so a broken build cannot hang) until `condition` holds.
    private func eventually(_ what: String, _ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<6000 {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTFail("never happened: \(what)")
    }

    func testCancellingASyncCancelsTheTransportsTask() async throws {
        let g = try await open("rider-x")
        _ = try await fileThreeKinds(g)
        let transport = HangingTransport()
        try await g.setServer(url: "http://127.0.0.1:9", tokens: ClosureTokenProvider { _ in "t" }, transport: transport)
        let run = Task { try await g.syncNow() }
        try await eventually("a request in flight") { await transport.events.starts > 0 }
        run.cancel()
        try await eventually("the request's task cancelled") { await transport.events.cancels > 0 }
        _ = try? await run.value
        let queued = try await g.list(states: [.queued]).count
        XCTAssertEqual(queued, 3, "nothing lost, nothing left sending")
    }
}

/// What ``HangingTransport`` saw, counted on an actor (the transport's tasks run concurrently).
actor TransportEvents {
    private(set) var starts = 0
    private(set) var cancels = 0
    func started() { starts += 1 }
    func cancelled() { cancels += 1 }
}

/// A transport whose requests hang until their task is cancelled (by a cancelled sync).
final class HangingTransport: HttpTransport, Sendable {
    let events = TransportEvents()

    func send(request: HttpRequest) async throws -> HttpResponse {
        await events.started()
        do {
            try await Task.sleep(nanoseconds: 600_000_000_000)
        } catch {
            await events.cancelled()
            throw TransportError.Connection(reason: "cancelled")
        }
        throw TransportError.Timeout(reason: "no answer")
    }
}
