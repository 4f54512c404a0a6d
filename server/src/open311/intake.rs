//! `POST requests`: an Open311 client's form becomes a report and goes through the same
//! admission ([`admit_report`]: catalog, times, grid) and the same [`Store::submit`] as a
//! rider's batch, submitted by the client's own account (`open311:<name>`, the ticket's
//! channel). The report id is derived from the client and the request's fields, and the
//! idempotency digest is the request's, so the same request sent again (a client retrying
//! after a lost answer) is recognised by the store's ordinary same-id-same-content rule and
//! answered with the same `service_request_id`, never a second ticket.
//!
//! Stricter than the common servers: an unknown or repeated field is refused, not dropped;
//! the point is required (the grid is found from it; this server does not geocode an
//! `address_string`, which is kept in the note); a point outside every grid is refused.
//! Contact fields are checked but not stored: Gridline keeps no citizens' personal data, and
//! `GET requests` publishes the description.
//!
//! [`Store::submit`]: crate::store::Store::submit

use std::collections::BTreeMap;

use gridline_protocol::catalog::{CategoryDef, Datatype, MAX_STRING_ATTR_CHARS};
use gridline_protocol::report::check_text;
use gridline_protocol::wire::ItemResult;
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, MAX_NOTE_CHARS, Report, Severity,
    Timestamp,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::routes::reports::{admit_report, check_write_quota};
use crate::state::AppState;
use crate::store::Open311Client;

use super::format::{Doc, Node, Open311Error};
use super::services;

/// Longest accepted form body.
pub const MAX_FORM_BYTES: u64 = 64 * 1024;

/// Fields of `POST requests` other than `attribute[...]`.
const FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

/// A form body read into name/value pairs, refusing unknown and repeated fields.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: BTreeMap<String, String>,
    attributes: BTreeMap<String, Vec<String>>,
    /// Every pair but the key, sorted: what the idempotency digest covers.
    canonical: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Form, Open311Error> {
        let mut form = Form::default();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            let (name, value) = (name.into_owned(), value.into_owned());
            if let Some(inner) = name.strip_prefix("attribute[") {
                let code = inner
                    .strip_suffix("][]")
                    .or_else(|| inner.strip_suffix(']'))
                    .filter(|c| !c.is_empty() && !c.contains(['[', ']']))
                    .ok_or_else(|| {
                        Open311Error::bad_request(format!(
                            "{}: attributes are sent as attribute[CODE]",
                            shown(&name)
                        ))
                    })?;
                form.attributes
                    .entry(code.to_string())
                    .or_default()
                    .push(value.clone());
            } else if FIELDS.contains(&name.as_str()) {
                if form.fields.insert(name.clone(), value.clone()).is_some() {
                    return Err(Open311Error::bad_request(format!("{name} is given twice")));
                }
            } else {
                return Err(Open311Error::bad_request(format!(
                    "{} is not a field of POST requests",
                    shown(&name)
                )));
            }
            if name != "api_key" {
                form.canonical.push((name, value));
            }
        }
        form.canonical.sort();
        Ok(form)
    }

    /// A field's value, if given (an empty value counts as not given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// A name as shown in an error: at most 40 characters.
fn shown(name: &str) -> String {
    name.chars().take(40).collect()
}

/// What [`submit`] answers: the ticket and whether it existed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The ticket id, the `service_request_id`.
    pub ticket_id: String,
    /// True when the same request had been filed before.
    pub repeated: bool,
}

/// Turns `form` from `client` into a ticket (or finds the one it became before). Blocking.
pub fn submit(
    state: &AppState,
    client: &Open311Client,
    form: &Form,
    now: Timestamp,
) -> Result<Filed, Open311Error> {
    let (report, digest) = build_report(&state.catalog, client, form, now)?;
    let grids = state.grids.current(&*state.store)?;
    let mut submission =
        admit_report(&state.catalog, &state.limits, &grids, report, now).map_err(|e| {
            Open311Error::bad_request(format!("{}: {}", open311_field(&e.field), e.reason))
        })?;
    if submission.grid_id.is_none() {
        return Err(Open311Error::bad_request(
            "the point is outside every grid this server serves",
        ));
    }
    submission.content_hash = digest;
    check_write_quota(state, &client.user, 1, now)?;
    let results = state
        .store
        .submit(&client.user, &[submission], &state.policy, now)?;
    match results.into_iter().next() {
        Some(ItemResult::Accepted { ticket_id }) => Ok(Filed {
            ticket_id,
            repeated: false,
        }),
        Some(ItemResult::AlreadyAccepted { ticket_id }) => Ok(Filed {
            ticket_id,
            repeated: true,
        }),
        Some(ItemResult::Conflict { reason }) => Err(Open311Error::bad_request(reason)),
        Some(ItemResult::Rejected { field, reason }) => Err(Open311Error::bad_request(format!(
            "{}: {reason}",
            open311_field(&field)
        ))),
        None => Err(Open311Error::new(
            500,
            "internal server error; try again later",
        )),
    }
}

/// The store-free part of [`submit`]: the report `form` from `client` describes as of `now`,
/// and the request's idempotency digest. Not yet checked against the catalog's rules (that is
/// [`admit_report`]'s job), nor located.
pub fn build_report(
    catalog: &gridline_protocol::Catalog,
    client: &Open311Client,
    form: &Form,
    now: Timestamp,
) -> Result<(Report, [u8; 32]), Open311Error> {
    let code = form
        .get("service_code")
        .ok_or_else(|| Open311Error::bad_request("service_code is required"))?;
    let (kind, category) = services::find(catalog, code)
        .ok_or_else(|| Open311Error::not_found(format!("no service {:?}", shown(code))))?;
    let lat = coordinate(form, "lat")?;
    let lon = coordinate(form, "long")?;
    let (lat, lon) = match (lat, lon) {
        (Some(lat), Some(lon)) => (lat, lon),
        (None, None)
            if form.get("address_string").is_some() || form.get("address_id").is_some() =>
        {
            return Err(Open311Error::bad_request(
                "lat and long are required: this server finds the grid from the point and \
                 does not geocode address_string or address_id",
            ));
        }
        (None, None) => {
            return Err(Open311Error::bad_request(
                "a location is required: lat and long",
            ));
        }
        _ => return Err(Open311Error::bad_request("lat and long go together")),
    };
    check_contact(form)?;
    let attributes = attributes(category, form)?;
    let digest = digest(client, form);
    let report = Report {
        id: report_id(&digest),
        kind: kind.code,
        category: category.code.clone(),
        note: note(form)?,
        severity: Severity::Medium,
        location: LocationFix {
            lat,
            lon,
            accuracy_m: 0.0,
            altitude_m: None,
            provider: LocationProvider::Manual,
            fix_time: now,
            mock: false,
            source_crs: CoordSystem::Wgs84,
        },
        location_warnings: Vec::new(),
        grid_id: None,
        attributes,
        outreach: None,
        photos: Vec::new(),
        reporter: client.user.name.clone(),
        created_at: now,
        submitted_at: now,
        app_version: "open311-georeport-v2".into(),
        signature: None,
    };
    Ok((report, digest))
}

/// The Open311 name of a report field named in a rejection.
fn open311_field(field: &str) -> String {
    if let Some(code) = field.strip_prefix("attributes.") {
        format!("attribute[{code}]")
    } else {
        match field {
            "location.lat" => "lat".into(),
            "location.lon" => "long".into(),
            "note" => "description".into(),
            other => other.into(),
        }
    }
}

fn coordinate(form: &Form, name: &str) -> Result<Option<f64>, Open311Error> {
    form.get(name)
        .map(|raw| {
            raw.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Open311Error::bad_request(format!("{name} must be a number")))
        })
        .transpose()
}

/// Checks the contact fields' shape (they are not stored; see the module docs).
fn check_contact(form: &Form) -> Result<(), Open311Error> {
    for name in [
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "address_id",
    ] {
        if let Some(v) = form.get(name) {
            check_text(name, v, MAX_STRING_ATTR_CHARS, false)
                .map_err(|e| Open311Error::bad_request(format!("{}: {}", e.field, e.reason)))?;
        }
    }
    if let Some(email) = form.get("email")
        && !email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
    {
        return Err(Open311Error::bad_request("email is not an email address"));
    }
    Ok(())
}

/// The ticket's note: the description, then the address and the media URL the client gave.
fn note(form: &Form) -> Result<String, Open311Error> {
    let mut note = form.get("description").unwrap_or("").to_string();
    if let Some(address) = form.get("address_string") {
        check_text("address_string", address, MAX_STRING_ATTR_CHARS, false)
            .map_err(|e| Open311Error::bad_request(format!("{}: {}", e.field, e.reason)))?;
        note.push_str(&format!("\n\nAddress: {address}"));
    }
    if let Some(url) = form.get("media_url") {
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if parsed.is_none() || url.chars().count() > MAX_STRING_ATTR_CHARS * 5 {
            return Err(Open311Error::bad_request(
                "media_url must be an http(s) URL of at most 1000 characters",
            ));
        }
        note.push_str(&format!("\n\nMedia: {url}"));
    }
    let note = note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Open311Error::bad_request(format!(
            "description (with address_string and media_url) is longer than {MAX_NOTE_CHARS} \
             characters"
        )));
    }
    Ok(note)
}

/// `attribute[code]` values read by each attribute's datatype; unknown codes are left to the
/// catalog's check, which names them.
fn attributes(
    category: &CategoryDef,
    form: &Form,
) -> Result<BTreeMap<String, AttrValue>, Open311Error> {
    let mut out = BTreeMap::new();
    for (code, values) in &form.attributes {
        let values: Vec<&String> = values.iter().filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            continue;
        }
        let datatype = category
            .attributes
            .iter()
            .find(|a| &a.code == code)
            .map_or(Datatype::String, |a| a.datatype);
        let value = match datatype {
            Datatype::Multivaluelist => AttrValue::List(
                values
                    .iter()
                    .flat_map(|v| v.split(','))
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect(),
            ),
            _ if values.len() > 1 => {
                return Err(Open311Error::bad_request(format!(
                    "attribute[{}] takes one value",
                    shown(code)
                )));
            }
            datatype => AttrValue::parse_for(datatype, values[0]).map_err(|reason| {
                Open311Error::bad_request(format!("attribute[{}]: {reason}", shown(code)))
            })?,
        };
        out.insert(code.clone(), value);
    }
    Ok(out)
}

/// The idempotency digest: the client and every field it sent but the key, sorted.
fn digest(client: &Open311Client, form: &Form) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"gridline-open311-request-v1\0");
    hash.update(client.id.to_be_bytes());
    for (name, value) in &form.canonical {
        for part in [name, value] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
    }
    hash.finalize().into()
}

/// A report id named by the digest, in the UUIDv7 layout the protocol requires (its time bits
/// carry no time: the ticket's `received_at` does).
fn report_id(digest: &[u8; 32]) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .with_version(uuid::Version::SortRand)
        .into_uuid()
}

/// The `POST requests` answer.
pub fn answer(filed: &Filed, grid_notice: &str) -> Doc {
    let notice = if filed.repeated {
        format!("this request was received before as {}", filed.ticket_id)
    } else {
        grid_notice.to_string()
    };
    Doc {
        root: "service_requests",
        body: Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", filed.ticket_id.as_str().into()),
                ("service_notice", notice.into()),
            ])],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_refuse_unknown_and_repeated_fields_and_read_attributes() {
        let form = Form::parse(
            b"api_key=k&service_code=pothole&lat=29.8&long=121.5\
              &attribute[size]=small&attribute[bins][]=a&attribute[bins][]=b",
        )
        .unwrap();
        assert_eq!(form.get("service_code"), Some("pothole"));
        assert_eq!(form.attributes["bins"], vec!["a", "b"]);
        assert!(form.canonical.iter().all(|(n, _)| n != "api_key"));
        for bad in [
            &b"lat=1&lat=2"[..],
            b"colour=red",
            b"attribute[]=x",
            b"attribute[a][b]=x",
            b"attribute=x",
        ] {
            assert_eq!(Form::parse(bad).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn the_same_fields_in_any_order_name_the_same_report() {
        let client = Open311Client {
            id: 3,
            name: "app".into(),
            user: crate::account::User {
                id: 9,
                name: "open311:app".into(),
                role: crate::account::Role::Rider,
                grids: vec![],
            },
            created_at: Timestamp::from_millis(0),
        };
        let a = Form::parse(b"api_key=1&lat=1&long=2&service_code=x").unwrap();
        let b = Form::parse(b"service_code=x&long=2&lat=1&api_key=2").unwrap();
        let c = Form::parse(b"service_code=x&long=2&lat=1.0").unwrap();
        assert_eq!(digest(&client, &a), digest(&client, &b));
        assert_ne!(digest(&client, &a), digest(&client, &c));
        let id = report_id(&digest(&client, &a));
        assert_eq!(id.get_version_num(), 7);
        let other = Open311Client {
            id: 4,
            ..client.clone()
        };
        assert_ne!(digest(&client, &a), digest(&other, &a));
    }
}
