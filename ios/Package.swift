// swift-tools-version:5.9
// Gridline for iOS: the generated uniffi bindings (GridlineFFI) over the Rust core shipped as an
// XCFramework (iOS device, iOS simulator and macOS slices), and the hand-written Swift layer
// (Gridline) that mirrors the Kotlin SDK. Not compiled on this project's CI (no Swift toolchain
// there); see ios/README.md.
//
// Two modes:
// - release (consumed from a URL): `scripts/build-xcframework.sh --release VERSION URL` fills in
//   `release` below with the zipped XCFramework's URL and checksum and writes the generated
//   bindings into Sources/GridlineFFI/generated; commit both on the release tag.
// - local development: `release` is nil (as on main) or GRIDLINE_LOCAL_FFI=1 is set; the binary
//   target is build/GridlineFFI.xcframework from `scripts/build-xcframework.sh`.
import Foundation
import PackageDescription

/// Set by scripts/build-xcframework.sh --release; nil on the development branch.
let release: (url: String, checksum: String)? = nil

let useLocal = release == nil || ProcessInfo.processInfo.environment["GRIDLINE_LOCAL_FFI"] == "1"

let ffiBinary: Target = {
    if !useLocal, let release {
        return .binaryTarget(name: "GridlineFFIFFI", url: release.url, checksum: release.checksum)
    }
    return .binaryTarget(name: "GridlineFFIFFI", path: "build/GridlineFFI.xcframework")
}()

let package = Package(
    name: "Gridline",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Gridline", targets: ["Gridline"]),
    ],
    targets: [
        ffiBinary,
        .target(
            name: "GridlineFFI",
            dependencies: ["GridlineFFIFFI"],
            path: "Sources/GridlineFFI/generated"
        ),
        .target(
            name: "Gridline",
            dependencies: ["GridlineFFI"],
            path: "Sources/Gridline",
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
        .testTarget(name: "GridlineTests", dependencies: ["Gridline"], path: "Tests/GridlineTests"),
    ]
)
