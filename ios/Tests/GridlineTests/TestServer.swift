import Foundation

/// The real reference grid server (`gridline serve`) on a free loopback port, like the Kotlin
/// tests' TestServer. The binary comes from the environment variable GRIDLINE_BINARY.
final class TestServer {
    static let grid = """
    {"type":"FeatureCollection","features":[{"type":"Feature","id":"HS-01","properties":{"name":"Haishu"},
    "geometry":{"type":"Polygon","coordinates":[[[121.52,29.85],[121.58,29.85],[121.58,29.89],[121.52,29.89],[121.52,29.85]]]}}]}
    """
    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("gridline-server-\(UUID().uuidString)")
    private let binary: String
    private var process: Process?
    private(set) var url = ""

    init() throws {
        guard let binary = ProcessInfo.processInfo.environment["GRIDLINE_BINARY"] else {
            throw NSError(domain: "TestServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "set GRIDLINE_BINARY to target/debug/gridline"])
        }
        self.binary = binary
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
    }

    @discardableResult
    private func run(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "TestServer", code: Int(p.terminationStatus)) }
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func importGrids(_ geojson: String) throws {
        let file = dataDir.appendingPathComponent("grids.geojson")
        try geojson.write(to: file, atomically: true, encoding: .utf8)
        try run(["server", "import-grids", "--data", dataDir.path, file.path])
    }

    func addUser(name: String, role: String, grids: [String] = []) throws -> String {
        let json = try run(["server", "add-user", "--data", dataDir.path, "--name", name, "--role", role, "--json"] + grids.flatMap { ["--grid", $0] })
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["token"] as? String ?? ""
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["serve", "--data", dataDir.path, "--listen", "127.0.0.1:0"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        process = p
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        url = text.split(separator: " ").last.map(String.init) ?? ""
    }

    func stop() {
        process?.terminate()
        process?.waitUntilExit()
        try? FileManager.default.removeItem(at: dataDir)
    }
}

/// Test images made in code (no fixtures on disk).
enum TestImages {
    /// A gray JPEG of the given size, encoded with ImageIO.
    static func grayJPEG(width: Int, height: Int) throws -> Data {
        try ImageMaker.jpeg(width: width, height: height)
    }
}
