//! The Open311 GeoReport v2 façade under `/open311/v2/` (docs/open311.md): civic apps and
//! city case systems read our services and tickets and file requests in the standard's
//! shapes, XML or JSON.
//!
//! One module per job: [`format`] writes one document as XML or JSON (and errors in the spec's
//! shape), [`services`] maps the catalog to service definitions, [`intake`] turns `POST
//! requests` into tickets through the riders' admission and store, [`requests`] shows tickets
//! as service requests, [`updates`] is the FixMyStreet `servicerequestupdates` extension,
//! [`keys`] checks API keys and [`discovery`] publishes the discovery document. This file
//! only routes.

pub mod discovery;
pub mod format;
pub mod intake;
pub mod keys;
pub mod requests;
pub mod services;
pub mod updates;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;

use crate::config::Open311Config;
use crate::extract;
use crate::listen::PeerAddr;
use crate::state::AppState;
use crate::task::blocking;

use format::{Doc, Format, Open311Error, respond};

/// Every (method, path) the façade serves; each `.{format}` is `.xml` and `.json`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/open311/v2/discovery.{format}"),
    ("get", "/open311/v2/services.{format}"),
    ("get", "/open311/v2/services/{service_code}.{format}"),
    ("post", "/open311/v2/requests.{format}"),
    ("get", "/open311/v2/requests.{format}"),
    ("get", "/open311/v2/requests/{service_request_id}.{format}"),
    ("get", "/open311/v2/tokens/{token}.{format}"),
    ("get", "/open311/v2/servicerequestupdates.{format}"),
];

/// The façade's routes (the server adds its layers around them).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for ext in ["xml", "json"] {
        router = router
            .route(&format!("/open311/v2/discovery.{ext}"), get(discovery))
            .route(&format!("/open311/v2/services.{ext}"), get(services_list))
            .route(
                &format!("/open311/v2/requests.{ext}"),
                get(requests_list).post(requests_post),
            )
            .route(
                &format!("/open311/v2/servicerequestupdates.{ext}"),
                get(updates_list),
            );
    }
    router
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(request_one))
        .route("/open311/v2/tokens/{file}", get(token_one))
        .route("/open311/{*rest}", axum::routing::any(unknown))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::routes::ops::track,
        ))
        .with_state(state)
}

/// The format of a path ending in `.xml` or `.json` (XML, the spec's default, otherwise).
fn format_of(uri: &Uri) -> Format {
    Format::split(uri.path()).map_or(Format::Xml, |(_, f)| f)
}

/// The query string's pairs.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Checks `jurisdiction_id` against the configuration: another one than ours is `404`; one
/// given to a server that has none configured is `404` too.
fn check_jurisdiction(config: &Open311Config, given: Option<&str>) -> Result<(), Open311Error> {
    match (
        given.filter(|g| !g.is_empty()),
        config.jurisdiction_id.as_deref(),
    ) {
        (None, _) => Ok(()),
        (Some(g), Some(ours)) if g == ours => Ok(()),
        (Some(g), _) => Err(Open311Error::not_found(format!(
            "no jurisdiction {:?} here",
            g.chars().take(40).collect::<String>()
        ))),
    }
}

/// The query without the parameters every GET takes (`jurisdiction_id` is checked, `api_key`
/// is not needed to read); anything left is the endpoint's own.
fn own_params(state: &AppState, uri: &Uri) -> Result<Vec<(String, String)>, Open311Error> {
    let mut own = Vec::new();
    let mut jurisdiction = None;
    for (name, value) in query_pairs(uri) {
        match name.as_str() {
            "jurisdiction_id" => jurisdiction = Some(value),
            "api_key" => {}
            _ => own.push((name, value)),
        }
    }
    check_jurisdiction(&state.open311, jurisdiction.as_deref())?;
    Ok(own)
}

/// Refuses any parameter an endpoint does not take.
fn no_params(params: &[(String, String)]) -> Result<(), Open311Error> {
    match params.first() {
        None => Ok(()),
        Some((name, _)) => Err(Open311Error::bad_request(format!(
            "{} is not a parameter of this endpoint",
            name.chars().take(40).collect::<String>()
        ))),
    }
}

async fn discovery(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let doc = own_params(&state, &uri)
        .and_then(|p| no_params(&p))
        .map(|()| {
            let url = discovery::endpoint_url(&state.open311, &headers);
            discovery::document(&state.open311, &url)
        });
    respond(format_of(&uri), doc)
}

async fn services_list(State(state): State<AppState>, uri: Uri) -> Response {
    let doc = own_params(&state, &uri)
        .and_then(|p| no_params(&p))
        .map(|()| services::list(&state.catalog));
    respond(format_of(&uri), doc)
}

async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return respond(Format::Xml, Err(not_a_document()));
    };
    let doc = own_params(&state, &uri)
        .and_then(|p| no_params(&p))
        .and_then(|()| {
            services::find(&state.catalog, code)
                .map(|(_, cat)| services::definition(cat))
                .ok_or_else(|| {
                    Open311Error::not_found(format!(
                        "no service {:?}",
                        code.chars().take(40).collect::<String>()
                    ))
                })
        });
    respond(format, doc)
}

fn not_a_document() -> Open311Error {
    Open311Error::not_found("ask for a document ending in .xml or .json")
}

async fn requests_post(State(state): State<AppState>, request: Request) -> Response {
    let format = format_of(request.uri());
    respond(format, file_request(state, request).await)
}

async fn file_request(state: AppState, request: Request) -> Result<Doc, Open311Error> {
    let (parts, body): (_, Body) = request.into_parts();
    let form_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Open311Error::bad_request(
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    if !query_pairs(&parts.uri).is_empty() {
        return Err(Open311Error::bad_request(
            "POST requests takes its fields in the body, not the query string",
        ));
    }
    let bytes = extract::read_body(&parts.headers, body, intake::MAX_FORM_BYTES).await?;
    let form = intake::Form::parse(&bytes)?;
    check_jurisdiction(&state.open311, form.get("jurisdiction_id"))?;
    let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip());
    let client = keys::authenticate(&state, peer, form.get("api_key")).await?;
    let metrics = state.metrics.clone();
    let filed =
        blocking(move || intake::submit(&state, &client, &form, state.clock.now())).await??;
    metrics.ingested(
        if filed.repeated {
            "already_accepted"
        } else {
            "accepted"
        },
        1,
    );
    Ok(intake::answer(
        &filed,
        "received; a grid supervisor will triage it",
    ))
}

async fn requests_list(State(state): State<AppState>, uri: Uri) -> Response {
    let format = format_of(&uri);
    respond(format, list_requests(state, &uri).await)
}

async fn list_requests(state: AppState, uri: &Uri) -> Result<Doc, Open311Error> {
    let query = requests::RequestsQuery::parse(&own_params(&state, uri)?)?;
    let rows: Vec<i64> = query
        .ids
        .iter()
        .filter_map(|id| state.store.ids().parse_ticket_id(id))
        .collect();
    if !query.ids.is_empty() && rows.is_empty() {
        return Ok(requests::requests_doc(&[], &state.catalog));
    }
    let filter = query.filter(rows, state.clock.now());
    let store = state.store.clone();
    let page = blocking(move || store.tickets(crate::account::Scope::All, &filter)).await??;
    Ok(requests::requests_doc(&page.tickets, &state.catalog))
}

async fn request_one(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return respond(Format::Xml, Err(not_a_document()));
    };
    let id = id.to_string();
    respond(format, one_request(state, &uri, id).await)
}

async fn one_request(state: AppState, uri: &Uri, id: String) -> Result<Doc, Open311Error> {
    no_params(&own_params(&state, uri)?)?;
    let missing = || {
        Open311Error::not_found(format!(
            "no service request {:?}",
            id.chars().take(40).collect::<String>()
        ))
    };
    let row = state.store.ids().parse_ticket_id(&id).ok_or_else(missing)?;
    let store = state.store.clone();
    let ticket = blocking(move || store.ticket(crate::account::Scope::All, row)).await??;
    match ticket {
        Some(t) if services::find(&state.catalog, &t.category).is_some() => {
            Ok(requests::requests_doc(&[t], &state.catalog))
        }
        _ => Err(missing()),
    }
}

async fn token_one(State(state): State<AppState>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return respond(Format::Xml, Err(not_a_document()));
    };
    let result = own_params(&state, &uri)
        .and_then(|p| no_params(&p))
        .and_then(|()| Err(requests::token_unknown(token)));
    respond(format, result)
}

async fn updates_list(State(state): State<AppState>, uri: Uri) -> Response {
    let format = format_of(&uri);
    respond(format, list_updates(state, &uri).await)
}

async fn list_updates(state: AppState, uri: &Uri) -> Result<Doc, Open311Error> {
    let query = updates::UpdatesQuery::parse(&own_params(&state, uri)?, state.clock.now())?;
    let store = state.store.clone();
    let found = blocking(move || updates::collect(&*store, &query)).await??;
    Ok(updates::document(&found))
}

async fn unknown(uri: Uri) -> Response {
    respond(
        format_of(&uri),
        Err(Open311Error::not_found("no such Open311 endpoint")),
    )
}
