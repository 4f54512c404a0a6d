package org.gridline.android

import android.location.Location
import android.location.LocationManager
import android.os.Build
import org.gridline.ffi.CoordSystem
import org.gridline.ffi.LocationFix
import org.gridline.ffi.LocationProvider

/**
 * Turns an `android.location.Location` into the core's fix record: WGS-84 coordinates, accuracy,
 * provider, fix time and the OS's mock flag (supervisors see `mock_location` warnings).
 */
object LocationAdapter {
    /** The fix for [location]; accuracy defaults to 100 m when the OS gave none. */
    fun toFix(location: Location): LocationFix {
        val mock = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            location.isMock
        } else {
            @Suppress("DEPRECATION")
            location.isFromMockProvider
        }
        val provider = when (location.provider) {
            LocationManager.GPS_PROVIDER -> LocationProvider.GPS
            LocationManager.NETWORK_PROVIDER -> LocationProvider.NETWORK
            LocationManager.FUSED_PROVIDER, "fused" -> LocationProvider.FUSED
            else -> LocationProvider.FUSED
        }
        return LocationFix(
            lat = location.latitude,
            lon = location.longitude,
            accuracyM = if (location.hasAccuracy()) location.accuracy.toDouble() else 100.0,
            altitudeM = if (location.hasAltitude()) location.altitude else null,
            provider = provider,
            fixTimeMs = location.time,
            mock = mock,
            sourceCrs = CoordSystem.WGS84,
        )
    }
}
