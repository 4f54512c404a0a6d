import CoreLocation
import Gridline
import PhotosUI
import SwiftUI
import UIKit

/// A small sample app: file a pothole report (location + photo), the queue, a supervisor worklist.
@main
struct GridlineSampleApp: App {
    @StateObject private var model = AppModel()
    var body: some Scene {
        WindowGroup {
            TabView {
                ReportView().tabItem { Label("Report", systemImage: "exclamationmark.triangle") }
                QueueView().tabItem { Label("Queue", systemImage: "tray.full") }
                WorklistView().tabItem { Label("Worklist", systemImage: "checklist") }
            }
            .environmentObject(model)
            .task { await model.start() }
        }
    }
}

/// Holds the app's Gridline and the rider's last known location.
@MainActor
final class AppModel: NSObject, ObservableObject, CLLocationManagerDelegate {
    @Published var status = ""
    @Published var reports: [Report] = []
    @Published var tickets: [Ticket] = []
    private(set) var gridline: Gridline?
    private let location = CLLocationManager()
    private var lastFix: LocationFix?

    func start() async {
        let db = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].appendingPathComponent("gridline.db")
        try? FileManager.default.createDirectory(at: db.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            let g = try await Gridline.open(dbPath: db.path, reporter: "rider-demo", appVersion: "0.1.0")
            try await g.setServer(url: "https://grid.example.invalid", tokens: KeychainTokenProvider(account: "rider-demo") { "glt_replace_with_your_login" })
            gridline = g
        } catch { status = "\(error)" }
        location.delegate = self
        location.requestWhenInUseAuthorization()
        location.startUpdatingLocation()
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let l = locations.last else { return }
        let fix = try? LocationAdapter.fix(from: l, crs: .wgs84)
        Task { @MainActor in self.lastFix = fix }
    }

    func submit(note: String, size: String, photoJPEG: Data?) async {
        guard let g = gridline else { return }
        do {
            let draft = try await g.createDraft(kind: .roadDamage)
            _ = try await g.updateDraft(id: draft.id, patch: DraftPatch(category: "pothole", note: note, location: lastFix,
                                                                        setAttributes: ["size": .text(size)]))
            if let jpeg = photoJPEG {
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(draft.id).jpg")
                try jpeg.write(to: file)
                _ = try await g.attachPhoto(id: draft.id, path: file.path)
            }
            let report = try await g.submit(id: draft.id)
            status = "Saved offline " + report.locationWarnings.joined(separator: ", ")
            _ = try? await g.syncNow()
        } catch GridlineError.Validation(let field, let reason) {
            status = "Please fix \(field): \(reason)"
        } catch { status = "\(error)" }
    }

    func refreshQueue() async { reports = (try? await gridline?.list()) ?? [] }
    func refreshWorklist() async {
        _ = try? await gridline?.refreshWorklist()
        tickets = (try? await gridline?.worklist()) ?? []
    }
}

/// CoreLocation -> the core's fix record, with the simulation flag as the mock flag.
/// HEIC (or anything UIKit reads) -> JPEG bytes, before the core sees the file.
enum PhotoConversion {
    static func jpeg(from data: Data) -> Data? { UIImage(data: data)?.jpegData(compressionQuality: 0.9) }
}

struct ReportView: View {
    @EnvironmentObject var model: AppModel
    @State private var note = ""
    @State private var size = "large"
    @State private var item: PhotosPickerItem?
    @State private var photo: Data?
    var body: some View {
        Form {
            TextField("What did you see?", text: $note)
            Picker("Size", selection: $size) { ForEach(["small", "medium", "large"], id: \.self) { Text($0) } }
            PhotosPicker("Photo", selection: $item, matching: .images)
                .onChange(of: item) { newItem in
                    Task { photo = (try? await newItem?.loadTransferable(type: Data.self)).flatMap(PhotoConversion.jpeg(from:)) }
                }
            Button("Submit") { Task { await model.submit(note: note, size: size, photoJPEG: photo) } }
            Text(model.status)
        }
    }
}

struct QueueView: View {
    @EnvironmentObject var model: AppModel
    var body: some View {
        List(model.reports, id: \.id) { r in
            VStack(alignment: .leading) {
                Text("\(r.category) — \(String(describing: r.state))")
                Text(r.ticketStatus.map { "\($0)" } ?? r.note).font(.caption)
            }
        }
        .task { await model.refreshQueue() }
    }
}

struct WorklistView: View {
    @EnvironmentObject var model: AppModel
    var body: some View {
        List(model.tickets, id: \.id) { t in
            VStack(alignment: .leading) {
                Text("\(t.category) — \(String(describing: t.status))")
                Text(t.gridId ?? "-").font(.caption)
            }
        }
        .task { await model.refreshWorklist() }
    }
}
