#!/usr/bin/env bash
# macOS only: builds the Gridline XCFramework and Swift bindings for ios/Package.swift.
#   1. the static library for iOS (device, simulator arm64 + x86_64) and macOS (arm64 + x86_64,
#      so `swift test` runs on a Mac);
#   2. the Swift bindings, generated from the library with the workspace's uniffi-bindgen, into
#      ios/Sources/GridlineFFI/generated (the package's GridlineFFI target: one file per crate);
#   3. ios/build/GridlineFFI.xcframework with the three headers under one modulemap.
# With `--release VERSION URL_PREFIX` it also zips the XCFramework, computes its SwiftPM checksum
# and writes url + checksum into ios/Package.swift; commit that and the generated sources on the
# release tag, upload the zip to URL_PREFIX/VERSION/GridlineFFI.xcframework.zip.
# Not run on this project's CI (Linux, no Xcode).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ "$(uname)" = "Darwin" ] || missing+=("macOS (this is $(uname))")
command -v xcodebuild >/dev/null || missing+=("Xcode command-line tools (xcode-select --install)")
command -v cargo >/dev/null || missing+=("Rust (https://rustup.rs)")
command -v lipo >/dev/null || missing+=("lipo (Xcode)")
release_version="" release_prefix=""
if [ "${1:-}" = "--release" ]; then
  release_version="${2:?--release VERSION URL_PREFIX}" release_prefix="${3:?--release VERSION URL_PREFIX}"
fi
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
if command -v rustup >/dev/null; then
  for t in "${targets[@]}"; do
    rustup target list --installed | grep -qx "$t" || missing+=("rust target $t (rustup target add $t)")
  done
else
  missing+=("rustup")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-xcframework: missing prerequisites:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

for t in "${targets[@]}"; do
  cargo build --locked --release -p gridline-ffi --target "$t"
done
cargo build --locked -p uniffi-bindgen

out=ios/build
gen=ios/Sources/GridlineFFI/generated
rm -rf "$out" "$gen"
mkdir -p "$out/headers" "$out/sim" "$out/macos" "$gen"
target/debug/uniffi-bindgen generate --library target/aarch64-apple-ios/release/libgridline_ffi.a \
  --language swift --out-dir "$out/bindings"
# One Swift file per crate (gridline-ffi, gridline-core, gridline-protocol), all in the GridlineFFI
# target; one C module GridlineFFIFFI over the three headers (their shared declarations are
# guarded, so they are declared once).
cp "$out"/bindings/Gridline{FFI,Core,Protocol}.swift "$gen/"
cp "$out"/bindings/Gridline{FFIFFI,CoreFFI,ProtocolFFI}.h "$out/headers/"
cat > "$out/headers/module.modulemap" <<'MAP'
module GridlineFFIFFI {
    header "GridlineFFIFFI.h"
    header "GridlineCoreFFI.h"
    header "GridlineProtocolFFI.h"
    export *
}
MAP

lipo -create target/aarch64-apple-ios-sim/release/libgridline_ffi.a target/x86_64-apple-ios/release/libgridline_ffi.a \
  -output "$out/sim/libgridline_ffi.a"
lipo -create target/aarch64-apple-darwin/release/libgridline_ffi.a target/x86_64-apple-darwin/release/libgridline_ffi.a \
  -output "$out/macos/libgridline_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libgridline_ffi.a -headers "$out/headers" \
  -library "$out/sim/libgridline_ffi.a" -headers "$out/headers" \
  -library "$out/macos/libgridline_ffi.a" -headers "$out/headers" \
  -output "$out/GridlineFFI.xcframework"
echo "built $out/GridlineFFI.xcframework and the bindings in $gen; now: cd ios && swift build"

if [ -n "$release_version" ]; then
  (cd "$out" && rm -f GridlineFFI.xcframework.zip && zip -qry GridlineFFI.xcframework.zip GridlineFFI.xcframework)
  checksum=$(cd ios && swift package compute-checksum build/GridlineFFI.xcframework.zip)
  url="$release_prefix/$release_version/GridlineFFI.xcframework.zip"
  sed -i '' "s|^let release: (url: String, checksum: String)? = .*|let release: (url: String, checksum: String)? = (url: \"$url\", checksum: \"$checksum\")|" ios/Package.swift
  echo "release $release_version: upload $out/GridlineFFI.xcframework.zip to $url; commit ios/Package.swift and git add -f $gen"
fi
