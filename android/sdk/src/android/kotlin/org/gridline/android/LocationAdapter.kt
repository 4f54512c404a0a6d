package org.gridline.android

import android.location.Location
import android.location.LocationManager
import android.os.Build
import org.gridline.ffi.Coordinates
import org.gridline.protocol.CoordSystem
import org.gridline.protocol.LocationFix
import org.gridline.protocol.LocationProvider
import org.gridline.ffi.convertCoordinates

/**
 * Turns a position fix into the core's fix record (WGS-84), converting from the coordinate
 * system the fix came in and recording it: the platform's `LocationManager` delivers WGS-84,
 * AMap's and Tencent's location SDKs GCJ-02, Baidu's BD-09. Pass the system your location SDK
 * documents; no Google Play services are needed. A point out of range throws
 * `ValidationException`.
 */
object LocationAdapter {
    /** Accuracy assumed when the fix has none, in metres. */
    const val UNKNOWN_ACCURACY_M = 100.0

    /**
     * The fix for an `android.location.Location` (AMap's `AMapLocation` is one) whose
     * coordinates are in [crs].
     */
    fun toFix(location: Location, crs: CoordSystem = CoordSystem.WGS84): LocationFix {
        val mock = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            location.isMock
        } else {
            @Suppress("DEPRECATION")
            location.isFromMockProvider
        }
        return fix(
            lat = location.latitude,
            lon = location.longitude,
            accuracyM = if (location.hasAccuracy()) location.accuracy.toDouble() else null,
            altitudeM = if (location.hasAltitude()) location.altitude else null,
            provider = providerOf(location.provider),
            timeMs = location.time,
            mock = mock,
            crs = crs,
        )
    }

    /**
     * The fix from plain values, for location SDKs whose result is not an `android.location.Location`
     * (Tencent's `TencentLocation`: GCJ-02). [accuracyM] `null` means unknown.
     */
    fun fix(
        lat: Double,
        lon: Double,
        accuracyM: Double?,
        timeMs: Long,
        crs: CoordSystem,
        provider: LocationProvider = LocationProvider.NETWORK,
        altitudeM: Double? = null,
        mock: Boolean = false,
    ): LocationFix {
        val wgs84 = if (crs == CoordSystem.WGS84) {
            Coordinates(lon = lon, lat = lat)
        } else {
            convertCoordinates(Coordinates(lon = lon, lat = lat), crs, CoordSystem.WGS84)
        }
        return LocationFix(
            lat = wgs84.lat,
            lon = wgs84.lon,
            accuracyM = accuracyM?.takeIf { it > 0 } ?: UNKNOWN_ACCURACY_M,
            altitudeM = altitudeM,
            provider = provider,
            fixTime = timeMs,
            mock = mock,
            sourceCrs = crs,
        )
    }

    /** The core's provider for a provider name (`gps`, `network`, `fused`, an SDK's own name). */
    fun providerOf(name: String?): LocationProvider = when (name) {
        LocationManager.GPS_PROVIDER -> LocationProvider.GPS
        LocationManager.NETWORK_PROVIDER -> LocationProvider.NETWORK
        else -> LocationProvider.FUSED
    }
}
