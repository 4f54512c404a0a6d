//! A verification (核查) is a report of kind [`ReportKind::Verification`]: a rider on the spot
//! says whether a resolved ticket's problem is gone, with a photo and the location, filed
//! offline and synced like any report. This module reads its two attributes.

use crate::{AttrValue, FieldError, Report, ReportKind};

/// Category code of a verification.
pub const CATEGORY: &str = "verification";
/// Attribute naming the ticket verified.
pub const TICKET_ATTRIBUTE: &str = "ticket";
/// Attribute holding [`FIXED`] or [`NOT_FIXED`].
pub const RESULT_ATTRIBUTE: &str = "result";
/// The problem is gone.
pub const FIXED: &str = "fixed";
/// The problem is still there.
pub const NOT_FIXED: &str = "not_fixed";

/// What a verification report claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationClaim {
    /// The ticket verified (`T…`).
    pub ticket_id: String,
    /// Whether the problem is gone.
    pub fixed: bool,
}

impl VerificationClaim {
    /// The claim of a verification report; `None` for other kinds, an error naming the
    /// attribute when a verification lacks or garbles one.
    pub fn of(report: &Report) -> Result<Option<Self>, FieldError> {
        if report.kind != ReportKind::Verification {
            return Ok(None);
        }
        let text = |code: &str| match report.attributes.get(code) {
            Some(AttrValue::Text(t)) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            _ => Err(FieldError::new(
                format!("attributes.{code}"),
                "is required for a verification",
            )),
        };
        let ticket_id = text(TICKET_ATTRIBUTE)?;
        let fixed = match text(RESULT_ATTRIBUTE)?.as_str() {
            FIXED => true,
            NOT_FIXED => false,
            _ => {
                return Err(FieldError::new(
                    format!("attributes.{RESULT_ATTRIBUTE}"),
                    format!("must be {FIXED} or {NOT_FIXED}"),
                ));
            }
        };
        Ok(Some(Self { ticket_id, fixed }))
    }

    /// The attributes a verification report carries for this claim.
    pub fn attributes(&self) -> std::collections::BTreeMap<String, AttrValue> {
        let result = if self.fixed { FIXED } else { NOT_FIXED };
        [
            (TICKET_ATTRIBUTE, self.ticket_id.clone()),
            (RESULT_ATTRIBUTE, result.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), AttrValue::Text(v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TasksQuery;
    use crate::{Catalog, CoordSystem, LocationFix, LocationProvider, Severity, Timestamp};

    fn verification(attrs: &[(&str, &str)]) -> Report {
        let at = Timestamp::from_millis(1_764_000_000_000);
        Report {
            id: uuid::Uuid::now_v7(),
            kind: ReportKind::Verification,
            category: CATEGORY.into(),
            note: String::new(),
            severity: Severity::default(),
            location: LocationFix {
                lat: 29.8,
                lon: 121.5,
                accuracy_m: 8.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: at,
                mock: false,
                source_crs: CoordSystem::Wgs84,
            },
            location_warnings: vec![],
            grid_id: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), AttrValue::Text(v.to_string())))
                .collect(),
            outreach: None,
            photos: vec![],
            reporter: "rider-1".into(),
            created_at: at,
            submitted_at: at,
            app_version: "1.0".into(),
            signature: None,
        }
    }

    #[test]
    fn claims_read_both_attributes_and_name_the_bad_one() {
        let ok = verification(&[("ticket", "T12"), ("result", "not_fixed")]);
        let claim = VerificationClaim::of(&ok).unwrap().unwrap();
        assert_eq!(claim.ticket_id, "T12");
        assert!(!claim.fixed);
        assert_eq!(claim.attributes(), ok.attributes);
        Catalog::builtin().validate_report(&ok).unwrap();
        let field = |r: &Report| VerificationClaim::of(r).unwrap_err().field;
        assert_eq!(
            field(&verification(&[("result", "fixed")])),
            "attributes.ticket"
        );
        let garbled = verification(&[("ticket", "T1"), ("result", "maybe")]);
        assert_eq!(field(&garbled), "attributes.result");
        let mut other = ok.clone();
        other.kind = ReportKind::Other;
        assert_eq!(VerificationClaim::of(&other).unwrap(), None);
    }

    #[test]
    fn task_areas_are_checked() {
        let q = |near: Option<&str>, radius: Option<f64>| TasksQuery {
            near: near.map(str::to_string),
            radius_m: radius,
        };
        assert_eq!(q(None, None).area().unwrap(), None);
        assert_eq!(
            q(Some("121.5, 29.8"), Some(300.0)).area().unwrap(),
            Some((121.5, 29.8, 300.0))
        );
        for bad in ["121.5", "x,1", "200,1", "NaN,1", "1,95"] {
            assert_eq!(
                q(Some(bad), None).area().unwrap_err().field,
                "near",
                "{bad}"
            );
        }
        for radius in [0.0, -1.0, f64::NAN, 20_001.0] {
            assert_eq!(q(None, Some(radius)).area().unwrap_err().field, "radius_m");
        }
    }

    #[test]
    fn catalog_deadlines_are_bounded_and_verifications_have_none() {
        let mut c = Catalog::builtin();
        assert!(
            c.category(ReportKind::RoadDamage, "pothole")
                .unwrap()
                .requires_verification
        );
        c.kinds[0].categories[0].handling_hours = Some(0);
        assert!(c.check().unwrap_err().field.ends_with("handling_hours"));
        let mut c = Catalog::builtin();
        let v = c
            .kinds
            .iter_mut()
            .find(|k| k.code == ReportKind::Verification)
            .unwrap();
        v.categories[0].requires_verification = true;
        assert!(c.check().is_err());
    }
}
