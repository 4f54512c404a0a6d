//! Fraud signals: reasons to doubt a report that a supervisor should see. Pure functions of
//! the report and of what its checker knows besides (the rider's previous report, other
//! reports using the same photo), so the device and the server compute them the same way. A
//! signal informs; none ever blocks a report.

use gridline_protocol::PhotoExif;
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
/// A photo whose EXIF capture time is further than this from the fix was not taken then.
pub const PHOTO_TIME_GAP_MS: i64 = 30 * 60 * 1000;
/// A capture time more than this after submission is in the future (camera clocks drift).
pub const PHOTO_FUTURE_SLACK_MS: i64 = 5 * 60 * 1000;
/// A photo taken further than this from the fix shows somewhere else.
pub const PHOTO_GPS_FAR_M: i64 = 500;
/// ... and further than this, certainly somewhere else.
pub const PHOTO_GPS_VERY_FAR_M: i64 = 5_000;

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
    for (i, photo) in report.photos.iter().enumerate() {
        if let Some(exif) = &photo.exif {
            photo_signals(&mut out, i + 1, exif, report);
        }
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

/// The signals one photo's EXIF facts raise (`n` counts photos from 1, for the words).
fn photo_signals(out: &mut Vec<FraudSignal>, n: usize, exif: &PhotoExif, report: &Report) {
    if !exif.camera {
        out.push(signal(
            "no_camera_exif",
            SignalSeverity::Warning,
            format!(
                "photo {n} names no camera: a screenshot, a download or a photo stripped of \
                 its metadata"
            ),
        ));
    }
    if let Some(at) = exif.captured_at {
        let ahead = at
            .as_millis()
            .saturating_sub(report.submitted_at.as_millis());
        let gap = at
            .as_millis()
            .saturating_sub(report.location.fix_time.as_millis());
        if ahead > PHOTO_FUTURE_SLACK_MS {
            out.push(signal(
                "photo_in_future",
                SignalSeverity::High,
                format!(
                    "photo {n} claims to be taken {} after the report was submitted",
                    span(ahead)
                ),
            ));
        } else if gap.saturating_abs() > PHOTO_TIME_GAP_MS {
            let when = if gap < 0 { "before" } else { "after" };
            out.push(signal(
                "photo_time_mismatch",
                SignalSeverity::Warning,
                format!(
                    "photo {n} was taken {} {when} the location was fixed",
                    span(gap.saturating_abs())
                ),
            ));
        }
    }
    if let Some(d) = exif.gps_distance_m
        && d > PHOTO_GPS_FAR_M
    {
        let severity = if d > PHOTO_GPS_VERY_FAR_M {
            SignalSeverity::High
        } else {
            SignalSeverity::Warning
        };
        let place = if d >= 10_000 {
            format!("{} km", d / 1000)
        } else {
            format!("{d} m")
        };
        out.push(signal(
            "photo_far_from_fix",
            severity,
            format!("photo {n} was taken {place} from the report's location"),
        ));
    }
}

/// A duration in the largest unit that reads naturally.
fn span(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0..120 => format!("{minutes} min"),
        120..2880 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes.saturating_add(720) / 1440),
    }
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

    fn with_photo(exif: PhotoExif) -> Report {
        let mut r = normal();
        r.photos.push(gridline_protocol::PhotoRef {
            sha256: "cd".repeat(32),
            bytes: 1000,
            width: 1600,
            height: 1200,
            exif: Some(exif),
        });
        r
    }

    /// What a phone camera writes a minute before the fix, 20 m away.
    fn camera_photo() -> PhotoExif {
        PhotoExif {
            captured_at: Some(Timestamp::from_millis(T0 - 80_000)),
            gps_distance_m: Some(20),
            camera: true,
        }
    }

    #[test]
    fn a_fresh_camera_photo_raises_nothing_and_unknown_facts_raise_nothing() {
        assert!(names(&with_photo(camera_photo()), &SignalInputs::default()).is_empty());
        // No position, no time: nothing to compare, so nothing is claimed.
        let bare = PhotoExif {
            camera: true,
            ..Default::default()
        };
        assert!(names(&with_photo(bare), &SignalInputs::default()).is_empty());
        // A photo from a device that predates EXIF facts.
        let mut old = with_photo(camera_photo());
        old.photos[0].exif = None;
        assert!(names(&old, &SignalInputs::default()).is_empty());
        // Right at the limits.
        let edge = PhotoExif {
            captured_at: Some(Timestamp::from_millis(T0 + PHOTO_FUTURE_SLACK_MS)),
            gps_distance_m: Some(PHOTO_GPS_FAR_M),
            camera: true,
        };
        assert!(names(&with_photo(edge), &SignalInputs::default()).is_empty());
    }

    #[test]
    fn each_photo_signal_fires_on_its_crafted_case_with_words() {
        let none = SignalInputs::default();
        let screenshot = PhotoExif {
            camera: false,
            ..camera_photo()
        };
        let s = fraud_signals(&with_photo(screenshot), &none);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "no_camera_exif");
        assert!(s[0].explanation.contains("photo 1"), "{}", s[0].explanation);

        let last_week = PhotoExif {
            captured_at: Some(Timestamp::from_millis(T0 - 7 * 86_400_000)),
            ..camera_photo()
        };
        let s = fraud_signals(&with_photo(last_week), &none);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "photo_time_mismatch");
        assert_eq!(s[0].severity, SignalSeverity::Warning);
        assert!(
            s[0].explanation.contains("7 days before"),
            "{}",
            s[0].explanation
        );

        let tomorrow = PhotoExif {
            captured_at: Some(Timestamp::from_millis(T0 + 86_400_000)),
            ..camera_photo()
        };
        let s = fraud_signals(&with_photo(tomorrow), &none);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "photo_in_future");
        assert_eq!(s[0].severity, SignalSeverity::High);
        assert!(
            s[0].explanation.contains("24 h after"),
            "{}",
            s[0].explanation
        );

        for (metres, severity, words) in [
            (800, SignalSeverity::Warning, "800 m"),
            (42_000, SignalSeverity::High, "42 km"),
        ] {
            let elsewhere = PhotoExif {
                gps_distance_m: Some(metres),
                ..camera_photo()
            };
            let s = fraud_signals(&with_photo(elsewhere), &none);
            assert_eq!(s.len(), 1);
            assert_eq!(s[0].name, "photo_far_from_fix");
            assert_eq!(s[0].severity, severity);
            assert!(s[0].explanation.contains(words), "{}", s[0].explanation);
        }

        // Hostile extremes neither panic nor overflow.
        let extreme = PhotoExif {
            captured_at: Some(Timestamp::from_millis(i64::MIN)),
            gps_distance_m: Some(i64::MAX),
            camera: false,
        };
        assert_eq!(
            names(&with_photo(extreme), &none),
            [
                "no_camera_exif",
                "photo_time_mismatch",
                "photo_far_from_fix"
            ]
        );
    }
}
