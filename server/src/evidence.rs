//! Evidence at ingest: what a report's device signature proves, decided once per report and
//! stored with its ticket. The server never silently trusts a report: a missing, unknown,
//! revoked or mismatching signature is recorded as such, with words a supervisor can act on.
//! The report itself is still accepted (a rider's work is never dropped for it).
//! docs/decisions/0061-signed-evidence.md says what this does and does not prove.

use gridline_protocol::evidence::{self, SignatureCheck, SignatureError, TicketEvidence};
use gridline_protocol::{Report, Timestamp};

use crate::account::User;
use crate::store::evidence::StoredDeviceKey;
use crate::store::{IdCodec, Store, StoreError};
use gridline_core::signals::{PriorReport, SignalInputs};

/// What the server knows about the reports of one batch besides themselves, for the fraud
/// signals, in the batch's order: each report's previous report by the same rider (by fix
/// time, among this batch and the rider's last stored ticket, so an honest rider's backlog
/// synced in one batch is compared stop by stop) and other tickets or reports of the batch
/// using its photos. The device computes the same signals from what it knows
/// ([`gridline_core::signals`]); the server's view wins on the ticket.
pub fn batch_signal_inputs(
    store: &dyn Store,
    ids: &IdCodec,
    user: &User,
    reports: &[&Report],
) -> Result<Vec<SignalInputs>, StoreError> {
    let mut inputs = vec![SignalInputs::default(); reports.len()];
    let Some(first) = reports.first() else {
        return Ok(inputs);
    };
    let prior = |r: &Report| PriorReport {
        lat: r.location.lat,
        lon: r.location.lon,
        at: r.location.fix_time,
    };
    let mut previous = store
        .latest_report_of(user, &first.id.to_string())?
        .map(|r| prior(&r));
    let mut by_fix: Vec<usize> = (0..reports.len()).collect();
    by_fix.sort_by_key(|&i| reports[i].location.fix_time);
    for i in by_fix {
        inputs[i].previous = previous;
        previous = Some(prior(reports[i]));
    }
    let mut seen: std::collections::HashMap<&str, uuid::Uuid> = Default::default();
    for (i, report) in reports.iter().enumerate() {
        let id = report.id.to_string();
        for p in &report.photos {
            if let Some(row) = store.ticket_using_photo(&p.sha256, &id)? {
                let used = format!("ticket {}", ids.ticket_id(row));
                inputs[i].reused_photos.push((p.sha256.clone(), used));
            } else if let Some(other) = seen.get(p.sha256.as_str()).filter(|o| **o != report.id) {
                let used = format!("report {other} of the same upload");
                inputs[i].reused_photos.push((p.sha256.clone(), used));
            }
            seen.entry(p.sha256.as_str()).or_insert(report.id);
        }
    }
    Ok(inputs)
}

/// A registered key as stored, decoded once for all the reports of a batch it signed.
#[derive(Debug, Clone)]
pub struct KnownKey {
    /// The stored record.
    pub stored: StoredDeviceKey,
    decoded: Result<evidence::VerifyingKey, SignatureError>,
}

impl KnownKey {
    /// Decodes `stored`'s public key (a key that does not decode fails each check it is used in).
    pub fn new(stored: StoredDeviceKey) -> Self {
        let decoded = evidence::VerifyingKey::parse(stored.key.algorithm, &stored.public_key);
        Self { stored, decoded }
    }
}

/// Checks `report`'s signature as filed by `submitter`, with `key` the key registered under
/// the signature's key id (if any), at `now`.
pub fn check(
    report: &Report,
    submitter: &User,
    key: Option<&KnownKey>,
    now: Timestamp,
) -> TicketEvidence {
    let record = |signature, key_id: Option<&str>, detail: String| TicketEvidence {
        signature,
        key_id: key_id.map(str::to_string),
        detail,
        checked_at: now,
        signals: vec![],
    };
    let Some(sig) = &report.signature else {
        return record(
            SignatureCheck::Unsigned,
            None,
            "the device did not sign this report (an app from before signing, or its \
             signing key was unavailable)"
                .into(),
        );
    };
    let key_id = Some(sig.key_id.as_str());
    let (key, decoded) = match key {
        Some(k) if k.stored.owner_id == submitter.id => (&k.stored, &k.decoded),
        Some(_) => {
            return record(
                SignatureCheck::UnknownKey,
                key_id,
                format!(
                    "signed with key {}, which is registered to another account, not to {}",
                    sig.key_id, submitter.name
                ),
            );
        }
        None => {
            return record(
                SignatureCheck::UnknownKey,
                key_id,
                format!(
                    "signed with key {}, which was never registered to {}",
                    sig.key_id, submitter.name
                ),
            );
        }
    };
    if let Some(at) = key.key.revoked_at.filter(|at| *at <= now) {
        return record(
            SignatureCheck::RevokedKey,
            key_id,
            format!("signed with key {}, revoked on {at}", sig.key_id),
        );
    }
    match decoded
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|k| evidence::verify_with(report, k))
    {
        Ok(()) => record(
            SignatureCheck::Valid,
            key_id,
            format!(
                "signed on the device with key {} of {}, registered on {}; unchanged since",
                sig.key_id, key.key.account, key.key.registered_at
            ),
        ),
        Err(SignatureError::Mismatch) => record(
            SignatureCheck::Mismatch,
            key_id,
            format!(
                "the report differs from what key {} signed: it was changed after the device \
                 signed it",
                sig.key_id
            ),
        ),
        Err(e) => record(
            SignatureCheck::Mismatch,
            key_id,
            format!("the signature cannot be checked: {e}"),
        ),
    }
}
