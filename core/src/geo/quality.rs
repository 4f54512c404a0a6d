//! Quality of a location fix at submit time: accept, accept with warnings, or reject.
//!
//! Like the best field-collection apps, we do not refuse a poor fix (a rider in a basement still
//! needs to file); we label it. Warnings travel with the report as stable snake_case codes so a
//! supervisor sees "stale_fix" next to the pin. Only impossible numbers are refused.

use gridline_protocol::{FieldError, LocationFix, Timestamp};
use serde::{Deserialize, Serialize};

use super::china::is_in_china;

/// Accuracy radius above which a fix is `low_accuracy`, metres.
pub const LOW_ACCURACY_M: f64 = 100.0;
/// Age at submit above which a fix is `stale_fix`, milliseconds (2 minutes).
pub const STALE_AFTER_MS: i64 = 120_000;
/// How far in the future a fix time may be before it is `future_fix`, milliseconds. Phone clocks
/// and GNSS time disagree by seconds; a minute of slack avoids crying wolf.
pub const FUTURE_SLACK_MS: i64 = 60_000;
/// Half-width of the "null island" square around (0, 0), degrees (~1 km): an uninitialised fix.
pub const NULL_ISLAND_DEG: f64 = 0.01;

/// A reason to doubt a fix that is still accepted. The order of variants is the order in which
/// [`assess`] reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixWarning {
    /// Accuracy radius worse than [`LOW_ACCURACY_M`].
    LowAccuracy,
    /// Taken more than [`STALE_AFTER_MS`] before submit.
    StaleFix,
    /// Taken more than [`FUTURE_SLACK_MS`] after submit: a wrong clock somewhere.
    FutureFix,
    /// The OS flagged the position as simulated.
    MockLocation,
    /// Within [`NULL_ISLAND_DEG`] of (0, 0): almost certainly an uninitialised value.
    NullIsland,
    /// Outside the China outline: not where a Ningbo rider files reports.
    OutsideChina,
}

impl FixWarning {
    /// Every warning, in reporting order.
    pub const ALL: [FixWarning; 6] = [
        Self::LowAccuracy,
        Self::StaleFix,
        Self::FutureFix,
        Self::MockLocation,
        Self::NullIsland,
        Self::OutsideChina,
    ];

    /// The stable snake_case code stored with the report and sent to the server.
    pub fn code(self) -> &'static str {
        match self {
            Self::LowAccuracy => "low_accuracy",
            Self::StaleFix => "stale_fix",
            Self::FutureFix => "future_fix",
            Self::MockLocation => "mock_location",
            Self::NullIsland => "null_island",
            Self::OutsideChina => "outside_china",
        }
    }

    /// Parses a code written by [`FixWarning::code`].
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.code() == code)
    }
}

/// Assesses `fix` at submit time `now`: `Err` names the invalid field (NaN, out of range…), `Ok`
/// lists the warnings (empty for a good fix), in [`FixWarning::ALL`] order.
pub fn assess(fix: &LocationFix, now: Timestamp) -> Result<Vec<FixWarning>, FieldError> {
    fix.validate()?;
    let mut warnings = Vec::new();
    if fix.accuracy_m > LOW_ACCURACY_M {
        warnings.push(FixWarning::LowAccuracy);
    }
    // i128: hostile timestamps near i64::MIN/MAX must not overflow.
    let age_ms = i128::from(now.as_millis()) - i128::from(fix.fix_time.as_millis());
    if age_ms > i128::from(STALE_AFTER_MS) {
        warnings.push(FixWarning::StaleFix);
    }
    if -age_ms > i128::from(FUTURE_SLACK_MS) {
        warnings.push(FixWarning::FutureFix);
    }
    if fix.mock {
        warnings.push(FixWarning::MockLocation);
    }
    let null_island = fix.lat.abs() < NULL_ISLAND_DEG && fix.lon.abs() < NULL_ISLAND_DEG;
    if null_island {
        warnings.push(FixWarning::NullIsland);
    }
    if !null_island && !is_in_china(fix.lon, fix.lat) {
        warnings.push(FixWarning::OutsideChina);
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridline_protocol::{CoordSystem, LocationProvider};

    const NOW: i64 = 1_764_322_200_000;

    fn fix() -> LocationFix {
        LocationFix {
            lat: 29.8683,
            lon: 121.544,
            accuracy_m: 8.0,
            altitude_m: None,
            provider: LocationProvider::Fused,
            fix_time: Timestamp::from_millis(NOW - 5_000),
            mock: false,
            source_crs: CoordSystem::Wgs84,
        }
    }

    fn assess_now(f: &LocationFix) -> Result<Vec<FixWarning>, FieldError> {
        assess(f, Timestamp::from_millis(NOW))
    }

    #[test]
    fn good_fix_has_no_warnings() {
        assert_eq!(assess_now(&fix()), Ok(vec![]));
    }

    #[test]
    fn thresholds_are_exclusive() {
        let mut f = fix();
        f.accuracy_m = LOW_ACCURACY_M;
        f.fix_time = Timestamp::from_millis(NOW - STALE_AFTER_MS);
        assert_eq!(assess_now(&f), Ok(vec![]));
        f.accuracy_m = LOW_ACCURACY_M + 0.1;
        f.fix_time = Timestamp::from_millis(NOW - STALE_AFTER_MS - 1);
        assert_eq!(
            assess_now(&f),
            Ok(vec![FixWarning::LowAccuracy, FixWarning::StaleFix])
        );
        f = fix();
        f.fix_time = Timestamp::from_millis(NOW + FUTURE_SLACK_MS);
        assert_eq!(assess_now(&f), Ok(vec![]));
        f.fix_time = Timestamp::from_millis(NOW + FUTURE_SLACK_MS + 1);
        assert_eq!(assess_now(&f), Ok(vec![FixWarning::FutureFix]));
    }

    #[test]
    fn mock_null_island_and_abroad() {
        let mut f = fix();
        f.mock = true;
        assert_eq!(assess_now(&f), Ok(vec![FixWarning::MockLocation]));
        f = fix();
        (f.lat, f.lon) = (0.0, 0.0);
        assert_eq!(assess_now(&f), Ok(vec![FixWarning::NullIsland]));
        (f.lat, f.lon) = (37.5665, 126.978); // Seoul
        assert_eq!(assess_now(&f), Ok(vec![FixWarning::OutsideChina]));
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let mut f = fix();
        f.fix_time = Timestamp::from_millis(i64::MIN);
        assert_eq!(
            assess(&f, Timestamp::from_millis(i64::MAX)),
            Ok(vec![FixWarning::StaleFix])
        );
        assert_eq!(assess(&f, Timestamp::from_millis(i64::MIN)), Ok(vec![]));
        f.fix_time = Timestamp::from_millis(i64::MAX);
        assert_eq!(
            assess(&f, Timestamp::from_millis(i64::MIN)),
            Ok(vec![FixWarning::FutureFix])
        );
    }

    #[test]
    fn invalid_numbers_are_rejected_with_the_field() {
        let mut f = fix();
        f.lat = f64::NAN;
        assert_eq!(
            assess_now(&f).map_err(|e| e.field),
            Err("location.lat".into())
        );
        f = fix();
        f.accuracy_m = f64::INFINITY;
        assert_eq!(
            assess_now(&f).map_err(|e| e.field),
            Err("location.accuracy_m".into())
        );
    }

    #[test]
    fn codes_are_stable_and_round_trip() {
        let codes: Vec<&str> = FixWarning::ALL.iter().map(|w| w.code()).collect();
        assert_eq!(
            codes,
            [
                "low_accuracy",
                "stale_fix",
                "future_fix",
                "mock_location",
                "null_island",
                "outside_china"
            ]
        );
        for w in FixWarning::ALL {
            assert_eq!(FixWarning::parse(w.code()), Some(w));
            assert_eq!(
                serde_json::to_string(&w).unwrap(),
                format!("\"{}\"", w.code())
            );
        }
        assert_eq!(FixWarning::parse("LOW_ACCURACY"), None);
    }
}
