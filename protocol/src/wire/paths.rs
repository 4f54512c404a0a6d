//! Every route of protocol v1, named once so client, server and tests cannot drift apart.

/// `GET`: liveness probe, no authentication.
pub const HEALTHZ: &str = "/healthz";
/// `GET`: readiness probe, no authentication: 200 when the database and the photo store
/// answer, 503 otherwise (load balancers stop sending requests to the instance).
pub const READYZ: &str = "/readyz";
/// `GET`: operational metrics in the Prometheus text format (admin token).
pub const METRICS: &str = "/metrics";
/// `GET`: the report catalog (ETag).
pub const CATALOG: &str = "/v1/catalog";
/// `GET`: grid polygons as a GeoJSON FeatureCollection (ETag).
pub const GRIDS: &str = "/v1/grids";
/// `GET`: the server's [`Limits`](super::Limits).
pub const LIMITS: &str = "/v1/limits";
/// `GET`: the caller's [`Account`](super::Account): name, role, grids.
pub const ME: &str = "/v1/me";
/// `GET`: the [`Departments`](super::Departments) tickets can be dispatched to.
pub const DEPARTMENTS: &str = "/v1/departments";
/// `POST`: a [`BatchRequest`](super::BatchRequest), answered with a [`BatchResponse`](super::BatchResponse).
pub const REPORTS_BATCH: &str = "/v1/reports:batch";
/// `POST`: a [`DeviceKeyRegistration`](crate::evidence::DeviceKeyRegistration), answered
/// with the registered [`DeviceKey`](crate::evidence::DeviceKey).
pub const DEVICE_KEYS: &str = "/v1/device-keys";
/// `GET`: a [`ChangesPage`](super::ChangesPage) after `?cursor=`.
pub const CHANGES: &str = "/v1/changes";
/// `GET`: a [`TaskPage`](super::TaskPage) of open verification tasks.
pub const TASKS: &str = "/v1/tasks";
/// `GET`: a [`TicketPage`](super::TicketPage).
pub const TICKETS: &str = "/v1/tickets";
/// `HEAD`/`PATCH`/`GET` template for one photo; see [`media`](super::media).
pub const MEDIA_TEMPLATE: &str = "/v1/media/{sha256}";
/// `GET` template for one ticket.
pub const TICKET_TEMPLATE: &str = "/v1/tickets/{id}";
/// `POST` template for a triage action on one ticket.
pub const TICKET_ACTIONS_TEMPLATE: &str = "/v1/tickets/{id}/actions";
/// `GET` template for a ticket's duplicate candidates (supervisors).
pub const TICKET_CANDIDATES_TEMPLATE: &str = "/v1/tickets/{id}/candidates";

/// The path of photo `sha256`.
pub fn media(sha256: &str) -> String {
    format!("/v1/media/{sha256}")
}

/// The path of ticket `id`. Ticket ids are URL-safe by construction (`T` and digits).
pub fn ticket(id: &str) -> String {
    format!("/v1/tickets/{id}")
}

/// The path that takes triage actions on ticket `id`.
pub fn ticket_actions(id: &str) -> String {
    format!("/v1/tickets/{id}/actions")
}

/// The path of ticket `id`'s duplicate candidates.
pub fn ticket_candidates(id: &str) -> String {
    format!("/v1/tickets/{id}/candidates")
}
