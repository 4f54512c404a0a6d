//! Where a report was made: a location fix as the phone (or the rider's pin) gave it,
//! always stored and sent in WGS-84.

use serde::{Deserialize, Serialize};

use crate::{FieldError, Timestamp};

/// Which geodetic system a pair of coordinates is expressed in.
///
/// Phones' GNSS gives WGS-84; AMap and Tencent maps draw in GCJ-02; Baidu in BD-09.
/// The protocol only ever carries WGS-84; the other two exist so input can say what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CoordSystem {
    /// The GNSS datum used by GPS, BeiDou and every map outside China.
    #[default]
    Wgs84,
    /// The obfuscated datum mandated for Chinese maps (AMap, Tencent, Google China).
    Gcj02,
    /// Baidu's further offset of GCJ-02.
    Bd09,
}

impl CoordSystem {
    /// The lowercase wire name (`wgs84`, `gcj02`, `bd09`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wgs84 => "wgs84",
            Self::Gcj02 => "gcj02",
            Self::Bd09 => "bd09",
        }
    }

    /// Parses a wire name, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Some(Self::Wgs84),
            "gcj02" | "gcj-02" => Some(Self::Gcj02),
            "bd09" | "bd-09" | "bd09ll" => Some(Self::Bd09),
            _ => None,
        }
    }
}

/// Where a fix came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LocationProvider {
    /// Satellite positioning.
    Gps,
    /// Cell towers and Wi-Fi.
    Network,
    /// The platform's fused provider.
    Fused,
    /// A pin the rider placed or moved on a map.
    Manual,
    /// The GPS tags of an attached photo.
    PhotoExif,
}

impl LocationProvider {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gps => "gps",
            Self::Network => "network",
            Self::Fused => "fused",
            Self::Manual => "manual",
            Self::PhotoExif => "photo_exif",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "gps" => Some(Self::Gps),
            "network" => Some(Self::Network),
            "fused" => Some(Self::Fused),
            "manual" => Some(Self::Manual),
            "photo_exif" => Some(Self::PhotoExif),
            _ => None,
        }
    }
}

/// One position reading, in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocationFix {
    /// Latitude in degrees, WGS-84, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, WGS-84, -180..=180.
    pub lon: f64,
    /// Horizontal accuracy radius in metres (68 % confidence, as Android and iOS report it).
    pub accuracy_m: f64,
    /// Altitude above the WGS-84 ellipsoid in metres, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub altitude_m: Option<f64>,
    /// Where the fix came from.
    pub provider: LocationProvider,
    /// When the fix was taken.
    pub fix_time: Timestamp,
    /// The OS said the position was simulated (Android `isMock`, iOS `isSimulatedBySoftware`).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default = false))]
    pub mock: bool,
    /// The system the coordinates arrived in before conversion to WGS-84.
    #[serde(default)]
    pub source_crs: CoordSystem,
}

/// Worst horizontal accuracy a fix may claim before it is considered meaningless (metres).
pub const MAX_ACCURACY_M: f64 = 100_000.0;

impl LocationFix {
    /// Checks that every number is finite and in range; the geo module adds quality warnings.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_lat_lon("location", self.lat, self.lon)?;
        if !self.accuracy_m.is_finite() || self.accuracy_m < 0.0 || self.accuracy_m > MAX_ACCURACY_M
        {
            return Err(FieldError::new(
                "location.accuracy_m",
                format!("must be a finite number of metres between 0 and {MAX_ACCURACY_M}"),
            ));
        }
        if let Some(alt) = self.altitude_m
            && (!alt.is_finite() || !(-12_000.0..=100_000.0).contains(&alt))
        {
            return Err(FieldError::new(
                "location.altitude_m",
                "must be a finite number of metres between -12000 and 100000",
            ));
        }
        Ok(())
    }
}

/// Checks a latitude/longitude pair; `prefix` names the field in the error (`location`, `point`).
pub fn validate_lat_lon(prefix: &str, lat: f64, lon: f64) -> Result<(), FieldError> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(FieldError::new(
            format!("{prefix}.lat"),
            "must be a finite number of degrees between -90 and 90",
        ));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(FieldError::new(
            format!("{prefix}.lon"),
            "must be a finite number of degrees between -180 and 180",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lon: f64, acc: f64) -> LocationFix {
        LocationFix {
            lat,
            lon,
            accuracy_m: acc,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: Timestamp::from_millis(0),
            mock: false,
            source_crs: CoordSystem::Wgs84,
        }
    }

    #[test]
    fn accepts_ningbo() {
        assert_eq!(fix(29.8683, 121.5440, 8.0).validate(), Ok(()));
    }

    #[test]
    fn rejects_hostile_numbers_naming_the_field() {
        let cases = [
            (fix(f64::NAN, 121.0, 5.0), "location.lat"),
            (fix(91.0, 121.0, 5.0), "location.lat"),
            (fix(f64::NEG_INFINITY, 121.0, 5.0), "location.lat"),
            (fix(29.0, 180.5, 5.0), "location.lon"),
            (fix(29.0, f64::INFINITY, 5.0), "location.lon"),
            (fix(29.0, 121.0, -1.0), "location.accuracy_m"),
            (fix(29.0, 121.0, f64::NAN), "location.accuracy_m"),
            (fix(29.0, 121.0, 1e9), "location.accuracy_m"),
        ];
        for (f, field) in cases {
            assert_eq!(
                f.validate().map_err(|e| e.field),
                Err(field.to_string()),
                "{f:?}"
            );
        }
        let mut high = fix(29.0, 121.0, 5.0);
        high.altitude_m = Some(f64::NAN);
        assert_eq!(
            high.validate().map_err(|e| e.field),
            Err("location.altitude_m".into())
        );
    }

    #[test]
    fn coord_system_names_round_trip() {
        for c in [CoordSystem::Wgs84, CoordSystem::Gcj02, CoordSystem::Bd09] {
            assert_eq!(CoordSystem::parse(c.as_str()), Some(c));
        }
        assert_eq!(CoordSystem::parse("mercator"), None);
    }
}
