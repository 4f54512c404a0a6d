//! Duplicate candidates and merged evidence on the server (issue 17), written once against
//! the [`Store`] trait so both backends behave alike. The ranking is the device's own
//! ([`gridline_core::duplicates`]); the photo hashes are the server's, computed from the
//! verified bytes at upload ([`crate::store::DuplicateStore`]), never the device's.

use std::collections::HashMap;

use gridline_core::duplicates::{self as rank, CandidateFacts};
use gridline_core::photo::PerceptualHash;
use gridline_protocol::wire::{
    CandidateList, DuplicateCandidate, MergedReport, Ticket, TicketStatus,
};

use crate::account::Scope;
use crate::store::{Store, StoreError, TicketFilter};

/// Open tickets looked at per candidate query, at most: the window is bounded by place and
/// time already, this bounds the work when one block has very many.
pub const MAX_SCANNED: usize = 2000;
/// Tickets read per page while scanning.
const PAGE: u32 = 200;

/// The statuses a ticket can be a duplicate candidate in: still being worked on.
pub const OPEN: [TicketStatus; 4] = [
    TicketStatus::Submitted,
    TicketStatus::Accepted,
    TicketStatus::Dispatched,
    TicketStatus::AwaitingVerification,
];

/// The duplicate candidates of ticket row `id` among the open tickets `scope` can see,
/// best first, at most [`rank::MAX_CANDIDATES`]; `None` when `scope` cannot see the ticket.
pub fn candidates(
    store: &dyn Store,
    scope: Scope,
    id: i64,
) -> Result<Option<CandidateList>, StoreError> {
    let Some(ticket) = store.ticket(scope, id)? else {
        return Ok(None);
    };
    let window_ms = rank::CANDIDATE_DAYS * 86_400_000;
    let since = gridline_protocol::Timestamp::from_millis(
        ticket.received_at.as_millis().saturating_sub(window_ms),
    );
    let (lon, lat) = (ticket.location.lon, ticket.location.lat);
    let mut nearby: Vec<(Ticket, f64)> = Vec::new();
    let mut filter = TicketFilter {
        statuses: OPEN.to_vec(),
        since: Some(since),
        service_kinds_only: true,
        limit: PAGE,
        ..TicketFilter::default()
    };
    let mut scanned = 0;
    loop {
        let page = store.tickets(scope, &filter)?;
        scanned += page.tickets.len();
        for t in page.tickets {
            if t.id == ticket.id {
                continue;
            }
            let d = gridline_core::geo::haversine_m(lon, lat, t.location.lon, t.location.lat);
            if d <= rank::CANDIDATE_RADIUS_M {
                nearby.push((t, d));
            }
        }
        match page
            .next
            .as_deref()
            .and_then(|c| store.ids().parse_ticket_id(c))
        {
            Some(after) if scanned < MAX_SCANNED => filter.after_id = after,
            _ => break,
        }
    }
    let shas: Vec<String> = std::iter::once(&ticket)
        .chain(nearby.iter().map(|(t, _)| t))
        .flat_map(|t| t.photos.iter().map(|p| p.sha256.clone()))
        .collect();
    let hashes = store.photo_hashes(&shas)?;
    let mine = hashes_of(&ticket, &hashes);
    let ranked = nearby
        .into_iter()
        .filter_map(|(t, d)| {
            let facts = CandidateFacts {
                distance_m: d,
                same_category: t.category == ticket.category,
                apart_ms: ticket.submitted_at.as_millis() - t.submitted_at.as_millis(),
                similarity: rank::best_similarity(&mine, &hashes_of(&t, &hashes)),
            };
            rank::is_candidate(&facts).then(|| (rank::rank(&facts), d, (t, facts)))
        })
        .collect();
    let candidates = rank::best_first(ranked, rank::MAX_CANDIDATES)
        .into_iter()
        .map(|(r, (t, facts))| DuplicateCandidate {
            ticket_id: t.id,
            report_id: t.report_id,
            status: t.status,
            category: t.category,
            distance_m: facts.distance_m,
            score: r.score,
            similarity: facts.similarity,
            same_category: facts.same_category,
            reason: r.reason,
            submitted_at: t.submitted_at,
        })
        .collect();
    Ok(Some(CandidateList {
        ticket_id: ticket.id,
        candidates,
    }))
}

fn hashes_of(t: &Ticket, hashes: &HashMap<String, PerceptualHash>) -> Vec<PerceptualHash> {
    t.photos
        .iter()
        .filter_map(|p| hashes.get(&p.sha256).copied())
        .collect()
}

/// Fills `ticket.merged` with the evidence of every ticket marked a duplicate of it (row
/// `id`). For supervisors and admins: the merged tickets may lie outside the caller's grids,
/// but merging keeps their evidence with the surviving ticket.
pub fn with_merged(store: &dyn Store, mut ticket: Ticket, id: i64) -> Result<Ticket, StoreError> {
    for row in store.merged_into(id)? {
        if let Some(d) = store.ticket(Scope::All, row)? {
            ticket.merged.push(MergedReport {
                ticket_id: d.id,
                report_id: d.report_id,
                reporter: d.reporter,
                submitted_at: d.submitted_at,
                location: d.location,
                note: d.note,
                photos: d.photos,
                evidence: d.evidence,
            });
        }
    }
    Ok(ticket)
}
