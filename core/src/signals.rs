//! Fraud signals: reasons to doubt a report that a supervisor should see. Pure functions of
//! the report and of what its checker knows besides (the rider's previous report, other
//! reports using the same photo), so the device and the server compute them the same way. A
//! signal informs; none ever blocks a report.

use gridline_protocol::Report;
use gridline_protocol::Timestamp;
use gridline_protocol::evidence::{FraudSignal, SignalSeverity};

use crate::geo::haversine_m;

/// A fix further than this from the submit time (either way) is stale.
pub const STALE_FIX_MS: i64 = 30 * 60 * 1000;
/// Faster than this between a rider's consecutive reports is not a ride (200 km/h).
pub const MAX_SPEED_M_PER_S: f64 = 200.0 / 3.6;
/// Below this distance consecutive reports never count as impossible (GPS noise, same block).
pub const MIN_SPEED_DISTANCE_M: f64 = 1000.0;

/// Where and when a rider's previous report was made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorReport {
    /// Latitude, WGS-84.
    pub lat: f64,
    /// Longitude, WGS-84.
    pub lon: f64,
    /// Its fix time.
    pub at: Timestamp,
}

/// What the checker knows besides the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalInputs {
    /// The same rider's previous report, if any.
    pub previous: Option<PriorReport>,
    /// Photos of this report already used by another report: (sha256, where it was used).
    pub reused_photos: Vec<(String, String)>,
}

fn signal(name: &str, severity: SignalSeverity, explanation: String) -> FraudSignal {
    FraudSignal {
        name: name.into(),
        severity,
        explanation,
    }
}

/// The signals `report` raises, given `inputs`; empty for an ordinary report.
pub fn fraud_signals(report: &Report, inputs: &SignalInputs) -> Vec<FraudSignal> {
    let mut out = Vec::new();
    let l = &report.location;
    if l.mock {
        out.push(signal(
            "mock_location",
            SignalSeverity::High,
            format!(
                "the phone reported the {} fix as coming from a mock-location app",
                l.provider.as_str()
            ),
        ));
    }
    let gap = report.submitted_at.as_millis() - l.fix_time.as_millis();
    if gap.abs() > STALE_FIX_MS {
        let minutes = gap.abs() / 60_000;
        let when = if gap > 0 { "before" } else { "after" };
        out.push(signal(
            "stale_fix",
            SignalSeverity::Warning,
            format!("the location was fixed {minutes} min {when} the report was submitted"),
        ));
    }
    for (sha, used) in &inputs.reused_photos {
        out.push(signal(
            "photo_reused",
            SignalSeverity::High,
            format!(
                "photo {} is also the evidence of {used}",
                &sha[..sha.len().min(12)]
            ),
        ));
    }
    if let Some(prev) = inputs.previous {
        let d = haversine_m(prev.lon, prev.lat, l.lon, l.lat);
        let dt_s = (l.fix_time.as_millis() - prev.at.as_millis()).abs() as f64 / 1000.0;
        if d >= MIN_SPEED_DISTANCE_M && d > MAX_SPEED_M_PER_S * dt_s.max(1.0) {
            out.push(signal(
                "impossible_speed",
                SignalSeverity::High,
                format!(
                    "{:.1} km from the rider's previous report in {:.0} s ({:.0} km/h)",
                    d / 1000.0,
                    dt_s,
                    d / dt_s.max(1.0) * 3.6
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridline_protocol::{CoordSystem, LocationFix, LocationProvider, ReportKind};

    const T0: i64 = 1_764_300_000_000;

    fn normal() -> Report {
        Report {
            id: uuid::Uuid::now_v7(),
            kind: ReportKind::RoadDamage,
            category: "pothole".into(),
            note: String::new(),
            severity: Default::default(),
            location: LocationFix {
                lat: 29.8683,
                lon: 121.544,
                accuracy_m: 5.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: Timestamp::from_millis(T0 - 20_000),
                mock: false,
                source_crs: CoordSystem::Wgs84,
            },
            location_warnings: vec![],
            grid_id: None,
            attributes: Default::default(),
            outreach: None,
            photos: vec![],
            reporter: "r".into(),
            created_at: Timestamp::from_millis(T0 - 60_000),
            submitted_at: Timestamp::from_millis(T0),
            app_version: String::new(),
            signature: None,
        }
    }

    fn names(r: &Report, i: &SignalInputs) -> Vec<String> {
        fraud_signals(r, i).into_iter().map(|s| s.name).collect()
    }

    /// Ten minutes earlier, 2 km away: a brisk but possible ride.
    fn plausible_previous() -> SignalInputs {
        SignalInputs {
            previous: Some(PriorReport {
                lat: 29.8863,
                lon: 121.544,
                at: Timestamp::from_millis(T0 - 600_000),
            }),
            reused_photos: vec![],
        }
    }

    #[test]
    fn a_normal_report_raises_nothing() {
        assert!(names(&normal(), &SignalInputs::default()).is_empty());
        assert!(names(&normal(), &plausible_previous()).is_empty());
        // Near the previous one, seconds apart: GPS noise, not speed.
        let mut near = plausible_previous();
        near.previous = Some(PriorReport {
            lat: 29.8690,
            lon: 121.544,
            at: Timestamp::from_millis(T0 - 19_000),
        });
        assert!(names(&normal(), &near).is_empty());
    }

    #[test]
    fn each_signal_fires_on_its_crafted_case_with_words() {
        let mut mock = normal();
        mock.location.mock = true;
        assert_eq!(names(&mock, &SignalInputs::default()), ["mock_location"]);

        let mut stale = normal();
        stale.location.fix_time = Timestamp::from_millis(T0 - 3 * 3_600_000);
        let s = fraud_signals(&stale, &SignalInputs::default());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "stale_fix");
        assert!(
            s[0].explanation.contains("180 min before"),
            "{}",
            s[0].explanation
        );
        let mut future = normal();
        future.location.fix_time = Timestamp::from_millis(T0 + 3_600_000);
        assert_eq!(names(&future, &SignalInputs::default()), ["stale_fix"]);

        let reused = SignalInputs {
            previous: None,
            reused_photos: vec![("ab".repeat(32), "ticket T7".into())],
        };
        let s = fraud_signals(&normal(), &reused);
        assert_eq!(s[0].name, "photo_reused");
        assert!(s[0].explanation.contains("ticket T7"));

        // 100 km in 10 minutes.
        let teleport = SignalInputs {
            previous: Some(PriorReport {
                lat: 30.77,
                lon: 121.544,
                at: Timestamp::from_millis(T0 - 20_000 - 600_000),
            }),
            reused_photos: vec![],
        };
        let s = fraud_signals(&normal(), &teleport);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "impossible_speed");
        assert_eq!(s[0].severity, SignalSeverity::High);
        assert!(!s[0].explanation.is_empty());
    }
}
