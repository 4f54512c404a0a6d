//! One document, two encodings: Open311 answers in XML (the spec's default) and JSON, chosen
//! by the path's `.xml` / `.json` suffix. Handlers build a [`Doc`] — a small tree of values —
//! and [`respond`] writes it in the asked format, so the two can never disagree. Errors take
//! the spec's shape in both (`<errors><error><code/><description/></error></errors>`, or a JSON
//! array of `{code, description}`).

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::StoreError;

/// The encoding a path asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.xml`, `text/xml`.
    Xml,
    /// `.json`, `application/json`.
    Json,
}

impl Format {
    /// Splits `name.xml` / `name.json` into the name and its format.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        if let Some(stem) = file.strip_suffix(".xml") {
            Some((stem, Format::Xml))
        } else {
            file.strip_suffix(".json").map(|stem| (stem, Format::Json))
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// A value of an Open311 document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// No value: JSON `null`, an empty XML element.
    Null,
    /// A list; in XML each item is an element named by the tag.
    List(&'static str, Vec<Node>),
    /// Named fields, in order.
    Obj(Vec<(&'static str, Node)>),
}

impl Node {
    /// Text, or `Null` for `None`.
    pub fn opt_text(text: Option<impl Into<String>>) -> Node {
        text.map_or(Node::Null, |t| Node::Text(t.into()))
    }
}

impl From<&str> for Node {
    fn from(text: &str) -> Self {
        Node::Text(text.to_string())
    }
}

impl From<String> for Node {
    fn from(text: String) -> Self {
        Node::Text(text)
    }
}

/// A whole answer: in XML, `body` inside an element named `root`; in JSON, `body` itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// The XML root element's name.
    pub root: &'static str,
    /// The content.
    pub body: Node,
}

impl Doc {
    /// The document as JSON.
    pub fn to_json(&self) -> Value {
        json(&self.body)
    }

    /// The document as XML, with its declaration.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        element(&mut out, self.root, &self.body);
        out
    }
}

fn json(node: &Node) -> Value {
    match node {
        Node::Text(t) => Value::String(t.clone()),
        Node::Int(n) => Value::from(*n),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Bool(b) => Value::Bool(*b),
        Node::Null => Value::Null,
        Node::List(_, items) => Value::Array(items.iter().map(json).collect()),
        Node::Obj(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn element(out: &mut String, tag: &str, node: &Node) {
    let inner = |out: &mut String| match node {
        Node::Text(t) => escape(out, t),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::Float(f) => out.push_str(&f.to_string()),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Null => {}
        Node::List(item, items) => {
            for i in items {
                element(out, item, i);
            }
        }
        Node::Obj(fields) => {
            for (k, v) in fields {
                element(out, k, v);
            }
        }
    };
    if *node == Node::Null {
        out.push_str(&format!("<{tag}/>"));
        return;
    }
    out.push('<');
    out.push_str(tag);
    out.push('>');
    inner(out);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Escapes markup and drops characters XML 1.0 cannot carry at all (controls other than tab,
/// newline and carriage return; stored text refuses them already, this is the last guard).
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// An error in the spec's shape: an HTTP status and its description.
#[derive(Debug, Clone, PartialEq)]
pub struct Open311Error {
    /// The HTTP status, also the error's `code`.
    pub status: u16,
    /// What went wrong, in words a client developer can act on.
    pub description: String,
    /// Seconds to wait, for `429`.
    pub retry_after: Option<String>,
}

impl Open311Error {
    /// `400`: the request is unacceptable as sent.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }

    /// `403`: no valid `api_key`.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(403, description)
    }

    /// `404`: the service, request, token or jurisdiction does not exist.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, description)
    }

    /// An error with `status`.
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
            retry_after: None,
        }
    }

    /// The spec's error document.
    pub fn doc(&self) -> Doc {
        Doc {
            root: "errors",
            body: Node::List(
                "error",
                vec![Node::Obj(vec![
                    ("code", Node::Int(i64::from(self.status))),
                    ("description", self.description.clone().into()),
                ])],
            ),
        }
    }
}

impl From<ApiError> for Open311Error {
    /// Keeps the status (and `Retry-After` of a `429`); a 5xx says no more than the v1 API.
    fn from(e: ApiError) -> Self {
        let status = e.code().http_status();
        let mut error = Open311Error::new(status, e.message().to_string());
        error.retry_after = e
            .header_value(RETRY_AFTER.as_str())
            .and_then(|v| v.to_str().ok().map(str::to_string));
        error
    }
}

impl From<StoreError> for Open311Error {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

/// Writes `result` in `format`: the document with 200 (or `ok_status`), or the error.
pub fn respond(format: Format, result: Result<Doc, Open311Error>) -> Response {
    match result {
        Ok(doc) => render(format, StatusCode::OK, &doc),
        Err(e) => error_response(format, &e),
    }
}

/// The error as a response in `format`.
pub fn error_response(format: Format, e: &Open311Error) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = render(format, status, &e.doc());
    if let Some(v) = e
        .retry_after
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(RETRY_AFTER, v);
    }
    response
}

fn render(format: Format, status: StatusCode, doc: &Doc) -> Response {
    let body = match format {
        Format::Xml => doc.to_xml(),
        Format::Json => doc.to_json().to_string(),
    };
    (status, [(CONTENT_TYPE, format.content_type())], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_renders_as_xml_and_json_alike() {
        let doc = Doc {
            root: "service_requests",
            body: Node::List(
                "request",
                vec![Node::Obj(vec![
                    ("service_request_id", "T1".into()),
                    ("lat", Node::Float(29.5)),
                    ("description", "a <b> & 'c'\u{1}".into()),
                    ("account_id", Node::Null),
                ])],
            ),
        };
        assert_eq!(
            doc.to_xml(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>\
             <service_request_id>T1</service_request_id><lat>29.5</lat>\
             <description>a &lt;b&gt; &amp; &apos;c&apos;</description><account_id/>\
             </request></service_requests>"
        );
        assert_eq!(
            doc.to_json(),
            serde_json::json!([{"service_request_id": "T1", "lat": 29.5,
                "description": "a <b> & 'c'\u{1}", "account_id": null}])
        );
        assert_eq!(Format::split("T1.json"), Some(("T1", Format::Json)));
        assert_eq!(Format::split("a.b.xml"), Some(("a.b", Format::Xml)));
        assert_eq!(Format::split("T1"), None);
        assert_eq!(Format::split("T1.html"), None);
    }

    #[test]
    fn errors_take_the_specs_shape() {
        let e = Open311Error::forbidden("invalid api_key");
        assert_eq!(
            e.doc().to_xml(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>403</code>\
             <description>invalid api_key</description></error></errors>"
        );
        assert_eq!(
            e.doc().to_json(),
            serde_json::json!([{"code": 403, "description": "invalid api_key"}])
        );
    }
}
