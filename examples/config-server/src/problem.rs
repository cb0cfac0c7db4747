//! The problems this server reports about configuration requests themselves (RFC 9457):
//! bad JSON, unknown sections, failed `If-Match`, missing credentials. Lock outcomes
//! (423, 412 on `If`, 409, 403 on tokens, quota, full table) are rendered by the
//! protocol layer of lockwarden, not here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of problem details (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem detail: what went wrong with a request, in a form a program can act on.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// An absolute URI the project owns that names the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, stable summary of the kind.
    pub title: &'static str,
    /// The HTTP status, repeated for clients that only keep the body.
    pub status: u16,
    /// What happened in this request and what to do about it.
    pub detail: String,
    #[serde(skip)]
    extra_headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem of kind `slug` (`https://lockwarden.dev/problems/{slug}`).
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind: format!("https://lockwarden.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            extra_headers: Vec::new(),
        }
    }

    /// The same problem with one more response header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.extra_headers.push((name, value));
        self
    }

    /// 400: the body is not the JSON it should be.
    pub fn malformed_json(error: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Request body is not valid JSON",
            format!("The request body could not be parsed as JSON: {error}."),
        )
    }

    /// 404: no section of this name.
    pub fn unknown_section(name: &str) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-section",
            "No such configuration section",
            format!("There is no configuration section named {name:?}; GET /config lists them."),
        )
    }

    /// 404: nothing lives at this path.
    pub fn not_found(path: &str) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("Nothing is served at {path}; try GET /config."),
        )
    }

    /// 405, with the methods the resource allows.
    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not supported on {path}; allowed: {allow}."),
        )
        .with_header(header::ALLOW, HeaderValue::from_static(allow))
    }

    /// 401, with the challenge (RFC 7617 §2).
    pub fn unauthenticated(detail: &str) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            detail,
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"config-server\", charset=\"UTF-8\""),
        )
    }

    /// 507: a `LOCK` would create a section beyond the maximum (RFC 4918 §11.5).
    pub fn too_many_sections(name: &str) -> Self {
        Problem::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "too-many-sections",
            "No room for another section",
            format!(
                "/config/{name} does not exist and cannot be created: the configuration has its maximum of {} sections.",
                crate::config::MAX_SECTIONS
            ),
        )
    }

    /// 507 or 413: an edit that a bound on the stored document refuses (RFC 4918 §11.5:
    /// the store cannot hold the result); nothing was changed.
    pub fn edit_refused(name: &str, error: &crate::config::EditError) -> Self {
        use crate::config::EditError;
        match error {
            EditError::TooManySections => Problem::too_many_sections(name),
            EditError::TooDeep { .. } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "nesting-too-deep",
                "Configuration nested too deep",
                format!("/config/{name} was not changed: {error}."),
            ),
            EditError::SectionTooLarge { .. } | EditError::DocumentTooLarge { .. } => Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "store-full",
                "Configuration store full",
                format!(
                    "/config/{name} was not changed: {error}. Remove settings first, or ask the operator to raise the limit."
                ),
            ),
            EditError::UnknownSection => Problem::unknown_section(name),
            EditError::NotAnObject => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "section-not-an-object",
                "A section must be a JSON object",
                format!(
                    "The result for /config/{name} would not be a JSON object; send an object such as {{\"key\": \"value\"}}."
                ),
            ),
        }
    }

    /// 500: the change could not be stored; nothing was changed.
    pub fn storage_failed(error: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage-failed",
            "Configuration could not be stored",
            format!("The change was not applied because it could not be stored durably: {error}."),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response();
        for (name, value) in self.extra_headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
