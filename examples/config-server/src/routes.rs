//! Which resource a request names and which handler answers it.
//!
//! Requests are routed on the canonical path (lockwarden's `Path`: percent-decoded,
//! `//`, `.`, `..` and trailing slashes normalised), never on the raw URI, so that an
//! alias of a locked section reaches the same lock check as its plain name.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::App;
use crate::config::{EditError, Representation, is_section_name};
use crate::locking::{self, LockPath};
use crate::problem::Problem;

/// The largest request body accepted: a configuration section or a `lockinfo`.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// The name of the JSON lock resource below a section or `/config`.
pub(crate) const LOCK_SEGMENT: &str = "lock";

const ALLOW_CONFIG: &str = "GET, HEAD, OPTIONS, LOCK, UNLOCK, PROPFIND";
const ALLOW_SECTION: &str = "GET, HEAD, PUT, PATCH, OPTIONS, LOCK, UNLOCK, PROPFIND";
const ALLOW_LOCK: &str = "POST, DELETE, OPTIONS";
const ALLOW_LOCKS: &str = "GET, HEAD, OPTIONS";

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// What a canonical path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `/config`: the collection of sections.
    Config,
    /// `/config/{name}`.
    Section(String),
    /// `/config/lock` or `/config/{name}/lock`: the JSON lock of that resource.
    JsonLock(Option<String>),
    /// `/locks`: the live locks.
    Locks,
    /// Anything else.
    Unknown,
}

impl Resource {
    fn of(path: &str) -> Resource {
        let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
        match (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) {
            (Some("config"), None, _, _) => Resource::Config,
            (Some("config"), Some(LOCK_SEGMENT), None, _) => Resource::JsonLock(None),
            (Some("config"), Some(name), None, _) => Resource::Section(name.to_owned()),
            (Some("config"), Some(name), Some(LOCK_SEGMENT), None) => {
                Resource::JsonLock(Some(name.to_owned()))
            }
            (Some("locks"), None, _, _) => Resource::Locks,
            _ => Resource::Unknown,
        }
    }
}

/// A request after authentication and path canonicalisation.
pub(crate) struct Incoming {
    pub(crate) parts: Parts,
    pub(crate) path: LockPath,
    pub(crate) principal: Option<Arc<str>>,
    body: Body,
}

impl Incoming {
    /// The request body, at most [`BODY_LIMIT`] bytes.
    pub(crate) async fn body(self) -> Result<(Parts, LockPath, Option<Arc<str>>, Bytes), Response> {
        let Incoming {
            parts,
            path,
            principal,
            body,
        } = self;
        match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(bytes) => Ok((parts, path, principal, bytes)),
            Err(_) => Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Request body too large",
                format!("Request bodies are limited to {BODY_LIMIT} bytes."),
            )
            .into_response()),
        }
    }
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let principal = match &app.users {
        None => None,
        Some(users) => {
            let header = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            match users.authenticate(header).await {
                Ok(user) => Some(user),
                Err(crate::auth::AuthError::Missing) => {
                    return Problem::unauthenticated(
                        "This server requires HTTP Basic authentication: send Authorization: Basic.",
                    )
                    .into_response();
                }
                Err(crate::auth::AuthError::Invalid) => {
                    return Problem::unauthenticated("Unknown user or wrong password.")
                        .into_response();
                }
            }
        }
    };
    let path = match locking::canonical_path(&parts) {
        Ok(path) => path,
        Err(response) => return response,
    };
    let resource = Resource::of(path.as_str());
    let incoming = Incoming {
        parts,
        path,
        principal,
        body,
    };
    dispatch(&app, resource, incoming).await
}

async fn dispatch(app: &Arc<App>, resource: Resource, req: Incoming) -> Response {
    let method = req.parts.method.clone();
    let m = method.as_str();
    match resource {
        Resource::Config => match m {
            "GET" | "HEAD" => {
                let document = app.document();
                let whole = document.whole();
                match locking::check_read(
                    app,
                    &req.parts,
                    &req.path,
                    req.principal.as_deref(),
                    Some(&whole.etag),
                ) {
                    Ok(()) => conditional_get(&req.parts, whole),
                    Err(refused) => refused,
                }
            }
            "OPTIONS" => options(ALLOW_CONFIG),
            "LOCK" => locking::webdav_lock(app, req, None).await,
            "UNLOCK" => locking::webdav_unlock(app, req),
            "PROPFIND" => locking::propfind(app, req),
            _ => Problem::method_not_allowed(m, "/config", ALLOW_CONFIG).into_response(),
        },
        Resource::Section(name) => match m {
            "LOCK" => locking::webdav_lock(app, req, Some(name)).await,
            "OPTIONS" => options(ALLOW_SECTION),
            _ if app.document().section(&name).is_none() => {
                Problem::unknown_section(&name).into_response()
            }
            "GET" | "HEAD" => {
                let document = app.document();
                let Some(representation) = document.section(&name) else {
                    return Problem::unknown_section(&name).into_response();
                };
                match locking::check_read(
                    app,
                    &req.parts,
                    &req.path,
                    req.principal.as_deref(),
                    Some(&representation.etag),
                ) {
                    Ok(()) => conditional_get(&req.parts, representation),
                    Err(refused) => refused,
                }
            }
            "PUT" => edit_section(app, req, name, Edit::Replace).await,
            "PATCH" => edit_section(app, req, name, Edit::Merge).await,
            "UNLOCK" => locking::webdav_unlock(app, req),
            "PROPFIND" => locking::propfind(app, req),
            _ => Problem::method_not_allowed(m, &format!("/config/{name}"), ALLOW_SECTION)
                .into_response(),
        },
        Resource::JsonLock(section) => {
            if let Some(name) = &section
                && app.document().section(name).is_none()
            {
                return Problem::unknown_section(name).into_response();
            }
            // The lock resource stands for the resource it locks: its parent.
            let mut req = req;
            match req.path.parent() {
                Some(parent) => req.path = parent,
                None => return Problem::not_found(req.path.as_str()).into_response(),
            }
            match m {
                "POST" => locking::json_lock(app, req).await,
                "DELETE" => locking::json_unlock(app, req),
                "OPTIONS" => options(ALLOW_LOCK),
                _ => Problem::method_not_allowed(
                    m,
                    &format!("{}/lock", req.path.as_str()),
                    ALLOW_LOCK,
                )
                .into_response(),
            }
        }
        Resource::Locks => match m {
            "GET" | "HEAD" => locking::list_locks(app),
            "OPTIONS" => options(ALLOW_LOCKS),
            _ => Problem::method_not_allowed(m, "/locks", ALLOW_LOCKS).into_response(),
        },
        Resource::Unknown => Problem::not_found(req.path.as_str()).into_response(),
    }
}

fn options(allow: &'static str) -> Response {
    // DAV: 1, 2 announces locking support (RFC 4918 §10.1, §18.2).
    (
        StatusCode::NO_CONTENT,
        [
            (header::ALLOW, allow),
            (header::HeaderName::from_static("dav"), "1, 2"),
        ],
    )
        .into_response()
}

/// `GET` with `If-None-Match` (RFC 9110 §13.1.2): 304 when the client's copy is current.
fn conditional_get(parts: &Parts, representation: &Representation) -> Response {
    let etag = HeaderValue::from_str(&representation.etag).ok();
    if let Some(value) = parts.headers.get(header::IF_NONE_MATCH)
        && etag_list_matches(value.as_bytes(), &representation.etag, false)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Some(etag) = etag {
            response.headers_mut().insert(header::ETAG, etag);
        }
        return response;
    }
    json_representation(StatusCode::OK, representation)
}

fn json_representation(status: StatusCode, representation: &Representation) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        representation.body.clone(),
    )
        .into_response();
    if let Ok(etag) = HeaderValue::from_str(&representation.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Whether an `If-Match`/`If-None-Match` field value names `etag` or is `*`. `If-Match`
/// compares strongly (a weak tag never matches); `If-None-Match` weakly (RFC 9110 §13.1).
fn etag_list_matches(value: &[u8], etag: &str, strong: bool) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => candidate == etag,
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    Replace,
    Merge,
}

async fn edit_section(app: &Arc<App>, req: Incoming, name: String, edit: Edit) -> Response {
    let (parts, path, principal, body) = match req.body().await {
        Ok(all) => all,
        Err(response) => return response,
    };
    if let Edit::Merge = edit
        && let Some(content_type) = parts.headers.get(header::CONTENT_TYPE)
    {
        let essence = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if !essence.eq_ignore_ascii_case("application/merge-patch+json")
            && !essence.eq_ignore_ascii_case("application/json")
        {
            return Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported patch format",
                "PATCH takes a JSON Merge Patch (RFC 7396): Content-Type: application/merge-patch+json.",
            )
            .with_header(
                header::HeaderName::from_static("accept-patch"),
                HeaderValue::from_static("application/merge-patch+json"),
            )
            .into_response();
        }
    }

    // One writer from the checks to the durable store.
    let _writer = app.writer.lock().await;
    let current = app.document();
    let Some(representation) = current.section(&name) else {
        return Problem::unknown_section(&name).into_response();
    };
    // Locks first: a request that a lock blocks answers 423 whatever its other
    // preconditions (RFC 9110 §13.2.1 evaluates preconditions after such checks).
    if app.enforce_locks
        && let Err(refused) = locking::check_write(
            app,
            &parts,
            &path,
            principal.as_deref(),
            &representation.etag,
        )
    {
        return refused;
    }
    if let Some(if_match) = parts.headers.get(header::IF_MATCH)
        && !etag_list_matches(if_match.as_bytes(), &representation.etag, true)
    {
        return Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "etag-mismatch",
            "Precondition failed",
            format!(
                "If-Match does not name the current ETag of /config/{name} ({}): the section changed since it was read. GET it again, then retry.",
                representation.etag
            ),
        )
        .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
        .into_response();
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return Problem::malformed_json(e).into_response(),
    };
    let mut document = current.document().clone();
    let outcome = match edit {
        Edit::Replace => document.replace(&name, value),
        Edit::Merge => document.merge(&name, &value),
    };
    match outcome {
        Ok(()) => {}
        Err(EditError::UnknownSection) => return Problem::unknown_section(&name).into_response(),
        Err(EditError::NotAnObject) => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "section-not-an-object",
                "A section must be a JSON object",
                format!(
                    "The result for /config/{name} would not be a JSON object; send an object such as {{\"key\": \"value\"}}."
                ),
            )
            .into_response();
        }
    }
    match app.store(document).await {
        Ok(stored) => match stored.section(&name) {
            Some(representation) => json_representation(StatusCode::OK, representation),
            None => Problem::unknown_section(&name).into_response(),
        },
        Err(problem) => problem.into_response(),
    }
}

impl App {
    /// Stores `document` durably, then serves it. Callers hold the writer mutex.
    pub(crate) async fn store(
        &self,
        document: crate::config::ConfigDocument,
    ) -> Result<Arc<crate::config::RenderedDocument>, Problem> {
        let rendered = crate::config::RenderedDocument::new(document);
        let storage = self.storage.clone();
        let bytes = rendered.stored_bytes().clone();
        match tokio::task::spawn_blocking(move || storage.persist(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Problem::storage_failed(e)),
            Err(e) => return Err(Problem::storage_failed(e)),
        }
        self.set_document(rendered);
        Ok(self.document())
    }
}

/// Whether `name` may become a new section through a `LOCK` on its unmapped URL.
pub(crate) fn creatable_section(name: &str) -> bool {
    is_section_name(name) && name != LOCK_SEGMENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_named_by_canonical_segments() {
        assert_eq!(Resource::of("/config"), Resource::Config);
        assert_eq!(
            Resource::of("/config/wifi"),
            Resource::Section("wifi".into())
        );
        assert_eq!(Resource::of("/config/lock"), Resource::JsonLock(None));
        assert_eq!(
            Resource::of("/config/wifi/lock"),
            Resource::JsonLock(Some("wifi".into()))
        );
        assert_eq!(Resource::of("/locks"), Resource::Locks);
        assert_eq!(Resource::of("/"), Resource::Unknown);
        assert_eq!(Resource::of("/config/wifi/x"), Resource::Unknown);
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        assert!(etag_list_matches(b"\"a\", \"b\"", "\"b\"", true));
        assert!(etag_list_matches(b"*", "\"b\"", true));
        assert!(!etag_list_matches(b"W/\"b\"", "\"b\"", true));
        assert!(etag_list_matches(b"W/\"b\"", "\"b\"", false));
        assert!(!etag_list_matches(b"\"c\"", "\"b\"", false));
    }
}
