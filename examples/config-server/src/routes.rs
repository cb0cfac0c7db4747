//! The routes, and the handlers of the configuration document itself.
//!
//! Two layers wrap everything: the outer one replaces the request path by its canonical
//! form (lockwarden's `Path`: percent-decoded, `//`, `.`, `..` and trailing slashes
//! normalised), so that an alias of a locked section is routed, and checked, as its
//! plain name; the next one authenticates. The document routes are then wrapped by the
//! lock layer of lockwarden-std, which refuses any request that a lock blocks before it
//! reaches a handler here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path as Segment, Request, State};
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use lockwarden::http::{BodyFormat, EntityTag, Method, Outcome, PathSource, Refusal};
use lockwarden_std::{LockLayer, LockResponse, Principal, Resource};
use serde_json::Value;
use tower::Layer;

use crate::App;
use crate::auth::AuthError;
use crate::config::{Representation, is_section_name};
use crate::locking::{self, LockOutcome, LockPath};
use crate::problem::Problem;
use crate::settings_page;

/// The largest request body accepted: a configuration section or a `lockinfo`.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// The name of the JSON lock resource below a section or `/config`.
pub(crate) const LOCK_SEGMENT: &str = "lock";

const ALLOW_CONFIG: &str = "GET, HEAD, OPTIONS, LOCK, UNLOCK, PROPFIND";
const ALLOW_SECTION: &str = "GET, HEAD, PUT, PATCH, OPTIONS, LOCK, UNLOCK, PROPFIND";
pub(crate) const ALLOW_LOCK: &str = "POST, DELETE, OPTIONS";
pub(crate) const ALLOW_LOCKS: &str = "GET, HEAD, OPTIONS";

pub(crate) fn router(app: Arc<App>) -> Router {
    let mut documents = Router::new()
        .route("/config", any(config_collection))
        .route("/config/{section}", any(section));
    if app.enforce_locks {
        let lookup_app = Arc::clone(&app);
        let layer = LockLayer::new(app.locks.clone())
            .with_resources(move |path: &str| lookup_app.resource(path))
            .body_limits(app.body_limits);
        #[cfg(feature = "etcd")]
        let layer = match &app.fleet {
            Some(fleet) => layer.store(fleet.store.clone()),
            None => layer,
        };
        documents = documents.layer(layer);
    }
    // Outside the lock layer: a method a resource does not support is a 405, never a 423.
    documents = documents.layer(middleware::from_fn(supported_methods));
    let lock_api = Router::new()
        .route("/config/lock", any(locking::json_lock_resource))
        .route("/config/{section}/lock", any(locking::json_lock_resource))
        .route("/locks", any(locking::list_locks))
        .route("/", any(settings_page::page))
        .route("/ui/{asset}", any(settings_page::page))
        .route("/session", any(settings_page::session));
    let routed = Router::new()
        .merge(documents)
        .merge(lock_api)
        .fallback(not_found);
    // In a fleet, every request starts from the document as etcd holds it now.
    #[cfg(feature = "etcd")]
    let routed = routed.layer(middleware::from_fn_with_state(
        Arc::clone(&app),
        crate::fleet::sync_document,
    ));
    let routed = routed
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            authenticate,
        ))
        .with_state(app);
    // A router's own layers run after routing; the path must be canonical before it.
    Router::new().fallback_service(Layer::layer(&middleware::from_fn(canonicalize), routed))
}

impl App {
    /// What the lock check needs to know about the resource at a canonical path.
    pub(crate) fn resource(&self, path: &str) -> Resource {
        let document = self.document();
        let representation = match path.strip_prefix("/config") {
            Some("") => Some(document.whole()),
            Some(rest) => rest
                .strip_prefix('/')
                .and_then(|name| document.section(name)),
            None => None,
        };
        match representation {
            Some(r) => Resource::existing(Some(r.etag.to_string())),
            None => Resource::missing(),
        }
    }
}

/// Routes the request by its canonical path; a path without one gets the protocol
/// layer's 400 (or 414 when too long).
async fn canonicalize(mut request: Request, next: Next) -> Response {
    let path = match LockPath::new(request.uri().path()) {
        Ok(path) => path,
        Err(error) => {
            let method = Method::parse(request.method().as_str().as_bytes());
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .map(HeaderValue::as_bytes);
            let outcome = LockOutcome::Refused {
                refusal: Refusal::BadPath {
                    source: PathSource::Request,
                    error,
                },
                format: BodyFormat::negotiate(method, accept),
            };
            return LockResponse::new(outcome, Default::default()).into_response();
        }
    };
    if path.as_str() != request.uri().path() {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        // A canonical path with characters a URI cannot carry names no resource here.
        let Ok(path_and_query) = format!("{}{query}", path.as_str()).parse::<PathAndQuery>() else {
            return Problem::not_found(path.as_str()).into_response();
        };
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

/// With a users file, every request needs valid HTTP Basic credentials; the user becomes
/// the request's [`Principal`], which the lock check uses.
async fn authenticate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    if let Some(users) = &app.users {
        let credentials = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        // Failed logins are limited per peer address, which the server's accept loop puts
        // in the extensions; without it, every client counts as one.
        let client = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        match users.authenticate(credentials, client).await {
            Ok(user) => {
                request.extensions_mut().insert(Principal(user.to_string()));
            }
            Err(AuthError::Missing) => {
                return Problem::unauthenticated(
                    "This server requires HTTP Basic authentication: send Authorization: Basic.",
                )
                .into_response();
            }
            Err(AuthError::Invalid) => {
                return Problem::unauthenticated("Unknown user or wrong password.").into_response();
            }
            Err(AuthError::TooManyFailures { retry_after }) => {
                return Problem::too_many_failed_logins(retry_after).into_response();
            }
        }
    }
    next.run(request).await
}

/// 405 for a method the configuration resources do not support (RFC 9110 §15.5.6).
async fn supported_methods(request: Request, next: Next) -> Response {
    let (path, allow) = match request.uri().path() {
        "/config" => ("/config", ALLOW_CONFIG),
        path => (path, ALLOW_SECTION),
    };
    let method = request.method().as_str();
    if !allow.split(", ").any(|m| m == method) {
        return Problem::method_not_allowed(method, path, allow).into_response();
    }
    next.run(request).await
}

/// 404, or 409 for a `LOCK` or `PUT` that would create a resource whose parent is not a
/// collection (RFC 4918 §9.10.6 and §9.7.1): only `/config` has members. Nothing is
/// created, and the lock table is not consulted.
async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    let creates = matches!(request.method().as_str(), "LOCK" | "PUT" | "MKCOL");
    let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    if creates && parent.starts_with("/config/") {
        return Problem::new(
            StatusCode::CONFLICT,
            "no-parent-collection",
            "No parent collection",
            format!(
                "{parent} is not a collection: only sections directly below /config exist, so nothing can be created at {path}."
            ),
        )
        .into_response();
    }
    Problem::not_found(path).into_response()
}

/// `/config`: the whole document, and locks over all of it.
async fn config_collection(State(app): State<Arc<App>>, request: Request) -> Response {
    match request.method().as_str() {
        "GET" | "HEAD" => conditional_get(request.headers(), app.document().whole()),
        "OPTIONS" => options(ALLOW_CONFIG),
        "LOCK" | "UNLOCK" => locking::webdav(&app, request, None).await,
        "PROPFIND" => locking::propfind(&app, request).await,
        m => Problem::method_not_allowed(m, "/config", ALLOW_CONFIG).into_response(),
    }
}

/// `/config/{section}`.
async fn section(
    State(app): State<Arc<App>>,
    Segment(name): Segment<String>,
    request: Request,
) -> Response {
    let method = request.method().as_str().to_owned();
    let exists = app.document().section(&name).is_some();
    match method.as_str() {
        "OPTIONS" => options(ALLOW_SECTION),
        // LOCK on an unmapped section creates it (RFC 4918 §7.3).
        "LOCK" => locking::webdav(&app, request, Some(name)).await,
        _ if !exists => Problem::unknown_section(&name).into_response(),
        "GET" | "HEAD" => match app.document().section(&name) {
            Some(representation) => conditional_get(request.headers(), representation),
            None => Problem::unknown_section(&name).into_response(),
        },
        "PUT" => edit_section(&app, request, &name, Edit::Replace).await,
        "PATCH" => edit_section(&app, request, &name, Edit::Merge).await,
        "UNLOCK" => locking::webdav(&app, request, Some(name)).await,
        "PROPFIND" => locking::propfind(&app, request).await,
        m => Problem::method_not_allowed(m, &format!("/config/{name}"), ALLOW_SECTION)
            .into_response(),
    }
}

pub(crate) fn options(allow: &'static str) -> Response {
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
fn conditional_get(headers: &axum::http::HeaderMap, representation: &Representation) -> Response {
    if let Some(value) = headers.get(header::IF_NONE_MATCH)
        && etag_list_matches(value.as_bytes(), &representation.etag, false)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(etag) = HeaderValue::from_str(&representation.etag) {
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
/// Splitting at commas is safe for the tags this server issues (hex digits).
fn etag_list_matches(value: &[u8], etag: &str, strong: bool) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let ours = EntityTag::from_header(etag);
    value.split(',').map(str::trim).any(|candidate| {
        let theirs = EntityTag::from_header(candidate);
        candidate == "*" || (theirs.weak_eq(&ours) && !(strong && (theirs.weak || ours.weak)))
    })
}

/// The request body, within the server's body limits (413 or 408 beyond them). Behind
/// the lock layer the body has already been read, and this only takes it.
pub(crate) async fn read_body(app: &App, request: Request) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    match lockwarden_std::body::read_body(&parts, body, app.body_limits).await {
        Ok(bytes) => Ok((parts, bytes)),
        Err(error) => {
            let outcome: LockOutcome = error.outcome(&parts);
            Err(LockResponse::new(outcome, app.locks.disclosure()).into_response())
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    Replace,
    Merge,
}

/// `PUT` or `PATCH` of a section. The lock layer has already admitted the request (no
/// lock blocks it) and holds back new locks until this handler returns.
async fn edit_section(app: &App, request: Request, name: &str, edit: Edit) -> Response {
    let (parts, body) = match read_body(app, request).await {
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
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return Problem::malformed_json(e).into_response(),
    };
    let if_match = parts.headers.get(header::IF_MATCH);
    let apply = |document: &mut crate::config::ConfigDocument, value: Value| {
        let section = document
            .section(name)
            .ok_or_else(|| Problem::unknown_section(name))?;
        if let Some(if_match) = if_match {
            let etag = Representation::of(section).etag;
            if !etag_list_matches(if_match.as_bytes(), &etag, true) {
                return Err(etag_mismatch(name, &etag));
            }
        }
        let edited = match edit {
            Edit::Replace => document.replace(name, value, &app.store_limits),
            Edit::Merge => document.merge(name, &value, &app.store_limits),
        };
        if let Err(e) = edited {
            return Err(Problem::edit_refused(name, &e));
        }
        document
            .section(name)
            .map(Representation::of)
            .ok_or_else(|| Problem::unknown_section(name))
    };
    #[cfg(feature = "etcd")]
    if let Some(fleet) = &app.fleet {
        // The lock check and the write in one etcd transaction.
        let resources = lockwarden_std::Resources::target(app.resource(parts.uri.path()));
        let check = lockwarden_std::request::check_request(&parts, &resources, None);
        let (outcome, changed) = fleet
            .edit(&check, |document| apply(document, value.clone()))
            .await;
        return match (outcome.is_allowed(), changed) {
            (_, Err(problem)) => problem.into_response(),
            (true, Ok(Some(representation))) => {
                json_representation(StatusCode::OK, &representation)
            }
            (true, Ok(None)) => Problem::storage_failed("the write was not stored").into_response(),
            (false, Ok(_)) => {
                use lockwarden_std::LockStore;
                LockResponse::new(outcome, fleet.store.disclosure()).into_response()
            }
        };
    }
    let changed = app.changes.apply(|document| apply(document, value)).await;
    match changed {
        Ok(representation) => json_representation(StatusCode::OK, &representation),
        Err(problem) => problem.into_response(),
    }
}

/// 412 for an `If-Match` that names another ETag than the section's (RFC 9110 §13.1.1).
fn etag_mismatch(name: &str, etag: &str) -> Problem {
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "etag-mismatch",
        "Precondition failed",
        format!(
            "If-Match does not name the current ETag of /config/{name} ({etag}): the section changed since it was read. GET it again, then retry."
        ),
    )
    .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// Whether `name` may become a new section through a `LOCK` on its unmapped URL.
pub(crate) fn creatable_section(name: &str) -> bool {
    is_section_name(name) && name != LOCK_SEGMENT
}

/// Whether a granted `LOCK` created the resource it locks.
pub(crate) fn created(outcome: &LockOutcome) -> bool {
    matches!(outcome, Outcome::Granted { created: true, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        assert!(etag_list_matches(b"\"a\", \"b\"", "\"b\"", true));
        assert!(etag_list_matches(b"*", "\"b\"", true));
        assert!(!etag_list_matches(b"W/\"b\"", "\"b\"", true));
        assert!(etag_list_matches(b"W/\"b\"", "\"b\"", false));
        assert!(!etag_list_matches(b"\"c\"", "\"b\"", false));
    }

    #[test]
    fn the_lock_resource_name_cannot_become_a_section() {
        assert!(creatable_section("sensors"));
        assert!(!creatable_section("lock"));
        assert!(!creatable_section("a b"));
    }
}
