// swift-tools-version:5.9
// Gridline for iOS: the generated uniffi bindings (GridlineFFI) over the Rust core shipped as an
// XCFramework, and the hand-written Swift layer (Gridline) that mirrors the Kotlin SDK.
// Build the XCFramework and bindings first: scripts/build-xcframework.sh (macOS only).
// Not compiled on this project's CI (no Swift toolchain there); see ios/README.md.
import PackageDescription

let package = Package(
    name: "Gridline",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Gridline", targets: ["Gridline"]),
    ],
    targets: [
        .binaryTarget(name: "GridlineFFIFFI", path: "build/GridlineFFI.xcframework"),
        .target(
            name: "GridlineFFI",
            dependencies: ["GridlineFFIFFI"],
            path: "Sources/GridlineFFI/generated"
        ),
        .target(name: "Gridline", dependencies: ["GridlineFFI"], path: "Sources/Gridline"),
        .testTarget(name: "GridlineTests", dependencies: ["Gridline"], path: "Tests/GridlineTests"),
    ]
)
