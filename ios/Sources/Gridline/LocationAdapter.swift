import Foundation
import GridlineFFI
#if canImport(CoreLocation)
import CoreLocation
#endif

/// Turns a position fix into the core's fix record (WGS-84), converting from the coordinate
/// system the fix came in and recording it: CoreLocation delivers WGS-84, AMap's and Tencent's
/// iOS SDKs GCJ-02, Baidu's BD-09. Mirrors the Android `LocationAdapter`.
public enum LocationAdapter {
    /// Accuracy assumed when the fix has none, in metres.
    public static let unknownAccuracyM = 100.0

    /// The fix from plain values in `crs`; `accuracyM` `nil` means unknown. Throws
    /// `GridlineError.Validation` for a point out of range.
    public static func fix(lat: Double, lon: Double, accuracyM: Double?, timeMs: Int64, crs: CoordSystem,
                           provider: LocationProvider = .network, altitudeM: Double? = nil,
                           mock: Bool = false) throws -> LocationFix {
        let wgs84 = crs == .wgs84
            ? Coordinates(lon: lon, lat: lat)
            : try convertCoordinates(point: Coordinates(lon: lon, lat: lat), from: crs, to: .wgs84)
        return LocationFix(lat: wgs84.lat, lon: wgs84.lon,
                           accuracyM: accuracyM.flatMap { $0 > 0 ? $0 : nil } ?? unknownAccuracyM,
                           altitudeM: altitudeM, provider: provider, fixTime: timeMs, mock: mock, sourceCrs: crs)
    }

    #if canImport(CoreLocation)
    /// The fix for a `CLLocation` whose coordinates are in `crs` (`.wgs84` for CoreLocation's own).
    public static func fix(from l: CLLocation, crs: CoordSystem = .wgs84) throws -> LocationFix {
        var mock = false
        if #available(iOS 15, macOS 12, *) { mock = l.sourceInformation?.isSimulatedBySoftware ?? false }
        return try fix(lat: l.coordinate.latitude, lon: l.coordinate.longitude,
                       accuracyM: l.horizontalAccuracy >= 0 ? l.horizontalAccuracy : nil,
                       timeMs: Int64(l.timestamp.timeIntervalSince1970 * 1000), crs: crs, provider: .fused,
                       altitudeM: l.verticalAccuracy >= 0 ? l.altitude : nil, mock: mock)
    }
    #endif
}
