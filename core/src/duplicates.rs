//! Duplicate candidates: how likely another report describes the same problem as this one,
//! and why, in words a rider or supervisor can check. One pure function of the facts
//! (distance, category, time apart, photo similarity), so the device's nearby hint and the
//! server's ticket candidates rank alike. Nothing is merged automatically: a supervisor
//! decides (`TriageAction::MarkDuplicate`).

use crate::photo::{PerceptualHash, SAME_SCENE_MAX_DISTANCE, similarity};

/// Default search radius for candidates, in metres.
pub const CANDIDATE_RADIUS_M: f64 = 50.0;
/// Default look-back for candidates, in days.
pub const CANDIDATE_DAYS: i64 = 30;
/// At most this many candidates are returned.
pub const MAX_CANDIDATES: usize = 20;
/// Photos at least this similar show the same scene (the pHash threshold as a similarity).
pub const SAME_SCENE_SIMILARITY: f64 = 1.0 - SAME_SCENE_MAX_DISTANCE as f64 / 64.0;

/// What is known about one candidate relative to the report being checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateFacts {
    /// Distance between the two locations, in metres.
    pub distance_m: f64,
    /// Whether both have the same category.
    pub same_category: bool,
    /// The report's time minus the candidate's, in milliseconds: positive when the candidate
    /// came first.
    pub apart_ms: i64,
    /// The best photo similarity between the two (0..=1), when both have hashed photos.
    pub similarity: Option<f64>,
}

/// A candidate's score (0..=1, higher is more likely the same problem) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// 0..=1.
    pub score: f64,
    /// E.g. "photo 94 % similar, 12 m away, same category, 2 days ago".
    pub reason: String,
}

/// The best similarity between any photo of one report and any of the other; `None` when
/// either has no hashed photo.
pub fn best_similarity(a: &[PerceptualHash], b: &[PerceptualHash]) -> Option<f64> {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| similarity(*x, *y)))
        .max_by(f64::total_cmp)
}

/// Whether a report within the search radius and time window is a candidate at all: the
/// same category, or a different one whose photo shows the same scene (a rider who picked
/// the wrong category still reported the same pothole).
pub fn is_candidate(facts: &CandidateFacts) -> bool {
    facts.same_category || facts.similarity.is_some_and(|s| s >= SAME_SCENE_SIMILARITY)
}

/// Scores and explains one candidate.
///
/// The parts, each 0..=1: place `1 / (1 + (d / 25 m)^2)` (half at 25 m), time
/// `1 / (1 + days / 7)` (half at a week), photo `(similarity - 0.5) / 0.5` clamped (unrelated
/// photos agree in about half their bits, so 0.5 is "no evidence"). With a photo comparison
/// the score is `0.5 photo + 0.3 place + 0.2 time`, without one `0.6 place + 0.4 time`; a
/// different category halves it.
pub fn rank(facts: &CandidateFacts) -> Ranking {
    let d = if facts.distance_m.is_finite() {
        facts.distance_m.max(0.0)
    } else {
        f64::MAX
    };
    let place = 1.0 / (1.0 + (d / 25.0).powi(2));
    let days = facts.apart_ms.unsigned_abs() as f64 / 86_400_000.0;
    let time = 1.0 / (1.0 + days / 7.0);
    let photo = facts
        .similarity
        .filter(|s| s.is_finite())
        .map(|s| ((s - 0.5) / 0.5).clamp(0.0, 1.0));
    let base = match photo {
        Some(p) => 0.5 * p + 0.3 * place + 0.2 * time,
        None => 0.6 * place + 0.4 * time,
    };
    let score = if facts.same_category {
        base
    } else {
        base * 0.5
    };
    let mut parts = Vec::with_capacity(4);
    if let Some(s) = facts.similarity.filter(|s| s.is_finite()) {
        parts.push(format!(
            "photo {} % similar",
            (s.clamp(0.0, 1.0) * 100.0).round()
        ));
    }
    parts.push(format!("{} away", metres(d)));
    parts.push(
        if facts.same_category {
            "same category"
        } else {
            "different category"
        }
        .to_string(),
    );
    parts.push(when(facts.apart_ms));
    Ranking {
        score: score.clamp(0.0, 1.0),
        reason: parts.join(", "),
    }
}

fn metres(d: f64) -> String {
    if d >= 1000.0 {
        format!("{:.1} km", d / 1000.0)
    } else {
        format!("{} m", d.round())
    }
}

fn when(apart_ms: i64) -> String {
    let (n, suffix) = (
        apart_ms.unsigned_abs(),
        if apart_ms >= 0 { "ago" } else { "later" },
    );
    let minutes = n / 60_000;
    let plural = |k: u64, unit: &str| format!("{k} {unit}{}", if k == 1 { "" } else { "s" });
    if minutes < 1 {
        "at the same time".into()
    } else if minutes < 60 {
        format!("{} {suffix}", plural(minutes, "minute"))
    } else if minutes < 24 * 60 {
        format!("{} {suffix}", plural(minutes / 60, "hour"))
    } else {
        format!("{} {suffix}", plural(minutes / (24 * 60), "day"))
    }
}

/// Orders ranked candidates best first (ties: nearer first) and keeps at most `limit`.
pub fn best_first<T>(mut ranked: Vec<(Ranking, f64, T)>, limit: usize) -> Vec<(Ranking, T)> {
    ranked.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(a.1.total_cmp(&b.1)));
    ranked.truncate(limit);
    ranked.into_iter().map(|(r, _, t)| (r, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn facts(d: f64, same: bool, apart_ms: i64, sim: Option<f64>) -> CandidateFacts {
        CandidateFacts {
            distance_m: d,
            same_category: same,
            apart_ms,
            similarity: sim,
        }
    }

    #[test]
    fn says_why_in_the_words_of_the_issue() {
        let r = rank(&facts(12.4, true, 2 * DAY + 5, Some(0.94)));
        assert_eq!(
            r.reason,
            "photo 94 % similar, 12 m away, same category, 2 days ago"
        );
        assert!(r.score > 0.8, "{}", r.score);
        let r = rank(&facts(1500.0, false, -90 * 60_000, None));
        assert_eq!(r.reason, "1.5 km away, different category, 1 hour later");
        assert_eq!(
            rank(&facts(0.0, true, 30_000, None)).reason,
            "0 m away, same category, at the same time"
        );
    }

    #[test]
    fn each_fact_moves_the_score_the_right_way() {
        let base = facts(20.0, true, DAY, Some(0.9));
        let s = |f: CandidateFacts| rank(&f).score;
        assert!(
            s(base)
                > s(CandidateFacts {
                    distance_m: 40.0,
                    ..base
                })
        );
        assert!(
            s(base)
                > s(CandidateFacts {
                    same_category: false,
                    ..base
                })
        );
        assert!(
            s(base)
                > s(CandidateFacts {
                    apart_ms: 10 * DAY,
                    ..base
                })
        );
        assert!(
            s(base)
                > s(CandidateFacts {
                    similarity: Some(0.6),
                    ..base
                })
        );
        // A dissimilar photo is evidence against; no photo is neutral.
        assert!(
            s(CandidateFacts {
                similarity: Some(0.5),
                ..base
            }) < s(CandidateFacts {
                similarity: None,
                ..base
            })
        );
        // The direction of time does not matter to the score.
        assert_eq!(
            s(base),
            s(CandidateFacts {
                apart_ms: -DAY,
                ..base
            })
        );
    }

    #[test]
    fn hostile_numbers_stay_in_range() {
        for f in [
            facts(f64::NAN, true, i64::MIN, Some(f64::NAN)),
            facts(f64::INFINITY, false, i64::MAX, Some(7.0)),
            facts(-5.0, true, 0, Some(-1.0)),
        ] {
            let r = rank(&f);
            assert!((0.0..=1.0).contains(&r.score), "{f:?}: {}", r.score);
            assert!(!r.reason.is_empty());
        }
    }

    #[test]
    fn other_categories_need_the_same_scene() {
        assert!(is_candidate(&facts(10.0, true, 0, None)));
        assert!(!is_candidate(&facts(10.0, false, 0, None)));
        assert!(!is_candidate(&facts(10.0, false, 0, Some(0.7))));
        assert!(is_candidate(&facts(10.0, false, 0, Some(0.9))));
    }

    #[test]
    fn best_similarity_takes_the_closest_pair() {
        let (a, b, c) = (
            PerceptualHash(0),
            PerceptualHash(0xFF),
            PerceptualHash(u64::MAX),
        );
        assert_eq!(best_similarity(&[a], &[]), None);
        assert_eq!(best_similarity(&[a, c], &[b]), Some(1.0 - 8.0 / 64.0));
    }

    #[test]
    fn best_first_orders_and_bounds() {
        let r = |score: f64| Ranking {
            score,
            reason: String::new(),
        };
        let out = best_first(
            vec![(r(0.2), 1.0, "c"), (r(0.9), 5.0, "a"), (r(0.9), 9.0, "b")],
            2,
        );
        assert_eq!(out.iter().map(|x| x.1).collect::<Vec<_>>(), ["a", "b"]);
    }
}
