#!/usr/bin/env bash
# macOS only: builds the Gridline XCFramework and Swift bindings for ios/Package.swift.
#   1. the static library for aarch64-apple-ios, aarch64-apple-ios-sim and x86_64-apple-ios;
#   2. the Swift bindings, generated from the library with the workspace's uniffi-bindgen;
#   3. ios/build/GridlineFFI.xcframework (device + fat simulator slice) with header + modulemap.
# Not run on this project's CI (Linux, no Xcode).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ "$(uname)" = "Darwin" ] || missing+=("macOS (this is $(uname))")
command -v xcodebuild >/dev/null || missing+=("Xcode command-line tools (xcode-select --install)")
command -v cargo >/dev/null || missing+=("Rust (https://rustup.rs)")
command -v lipo >/dev/null || missing+=("lipo (Xcode)")
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
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
mkdir -p "$out/headers" "$out/sim" "$gen"
target/debug/uniffi-bindgen generate --library target/aarch64-apple-ios/release/libgridline_ffi.a \
  --language swift --out-dir "$out/bindings"
cp "$out/bindings/GridlineFFI.swift" "$gen/"
cp "$out/bindings/GridlineFFIFFI.h" "$out/headers/"
cp "$out/bindings/GridlineFFIFFI.modulemap" "$out/headers/module.modulemap"

lipo -create target/aarch64-apple-ios-sim/release/libgridline_ffi.a target/x86_64-apple-ios/release/libgridline_ffi.a \
  -output "$out/sim/libgridline_ffi.a"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libgridline_ffi.a -headers "$out/headers" \
  -library "$out/sim/libgridline_ffi.a" -headers "$out/headers" \
  -output "$out/GridlineFFI.xcframework"
echo "built $out/GridlineFFI.xcframework and $gen/GridlineFFI.swift; now: cd ios && swift build"
