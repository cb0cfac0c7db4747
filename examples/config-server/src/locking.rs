//! Locks on the configuration, two ways with one semantics: WebDAV (`LOCK`, `UNLOCK`,
//! `PROPFIND` lockdiscovery, RFC 4918) and JSON (`POST`/`DELETE` on
//! `/config/{section}/lock`). Both hand the request to lockwarden's one-call check,
//! which decides and composes every outcome; this module only translates requests in
//! and responses out.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockwarden::http::{
    self as protocol, BodyFormat, Disclosure, Expiry, HeldLock, IfHeader, Method, Outcome,
    PathSource, Refusal, TimeoutValue,
};
use lockwarden::{Path, Scope};
use lockwarden_std::TICK_HZ;
use lockwarden_std::lockinfo::{LockBody, LockInfoError, parse_lock_body};
use lockwarden_std::manager::{DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::problem::Problem;
use crate::routes::{Incoming, creatable_section};

/// A canonical path as the lock table stores it.
pub(crate) type LockPath = Path<DEFAULT_PATH_LEN>;
type LockOutcome = Outcome<DEFAULT_PATH_LEN, DEFAULT_OWNER_LEN>;

/// The canonical path of the request target, or the protocol layer's 400/414.
pub(crate) fn canonical_path(parts: &Parts) -> Result<LockPath, Response> {
    LockPath::new(parts.uri.path()).map_err(|error| {
        let method = Method::parse(parts.method.as_str().as_bytes());
        let accept = parts.headers.get(header::ACCEPT).map(HeaderValue::as_bytes);
        respond(&LockOutcome::Refused {
            refusal: Refusal::BadPath {
                source: PathSource::Request,
                error,
            },
            format: BodyFormat::negotiate(method, accept),
        })
    })
}

/// The lock check of a request as the protocol layer sees it: every header handed over,
/// the principal, and the state of the target.
fn protocol_request<'a>(
    parts: &'a Parts,
    target: &'a [u8],
    principal: Option<&'a str>,
    exists: bool,
    etag: Option<&'a str>,
) -> protocol::Request<'a> {
    let method = Method::parse(parts.method.as_str().as_bytes());
    let mut request = protocol::Request::new(method, target).resource(exists, etag);
    for (name, value) in &parts.headers {
        request = request.header(name.as_str(), value.as_bytes());
    }
    request.principal = principal;
    request
}

/// Whether a write (PUT, PATCH) of `path` may proceed: `Ok` when no lock stands in the
/// way, otherwise the response to send (423, 412, 403, 400).
pub(crate) fn check_write(
    app: &App,
    parts: &Parts,
    path: &LockPath,
    principal: Option<&str>,
    etag: &str,
) -> Result<(), Response> {
    let request = protocol_request(parts, path.as_str().as_bytes(), principal, true, Some(etag));
    let outcome = app
        .locks
        .with(|table, now| protocol::check(table, now, &request));
    if outcome.is_allowed() {
        Ok(())
    } else {
        Err(respond(&outcome))
    }
}

/// Evaluates the `If` header of a read (RFC 4918 §10.4 applies to every method).
pub(crate) fn check_read(
    app: &App,
    parts: &Parts,
    path: &LockPath,
    principal: Option<&str>,
    etag: Option<&str>,
) -> Result<(), Response> {
    if !parts.headers.contains_key("if") {
        return Ok(());
    }
    let request = protocol_request(
        parts,
        path.as_str().as_bytes(),
        principal,
        etag.is_some(),
        etag,
    );
    let outcome = app
        .locks
        .with(|table, now| protocol::check(table, now, &request));
    if outcome.is_allowed() {
        Ok(())
    } else {
        Err(respond(&outcome))
    }
}

/// `LOCK` on `/config` (`section` `None`) or `/config/{section}`: creates a lock from a
/// `lockinfo` body, or refreshes the lock named in `If` when there is no body.
pub(crate) async fn webdav_lock(
    app: &Arc<App>,
    req: Incoming,
    section: Option<String>,
) -> Response {
    let (parts, path, principal, body) = match req.body().await {
        Ok(all) => all,
        Err(response) => return response,
    };
    let lockinfo = match parse_lock_body(&body) {
        Ok(LockBody::Create(info)) => {
            Some((info.scope, info.owner.map(|o| o.markup).unwrap_or_default()))
        }
        Ok(LockBody::Refresh) => None,
        Err(e) => return bad_lockinfo(&parts, &e),
    };
    let lock = LockCall {
        section,
        lockinfo,
        timeout: None,
        depth: None,
        json: false,
    };
    lock.run(app, &parts, &path, principal.as_deref()).await
}

/// What a `LOCK`, WebDAV or JSON, asks for.
struct LockCall {
    section: Option<String>,
    /// Scope and owner for a new lock; `None` for a refresh.
    lockinfo: Option<(Scope, String)>,
    /// `Timeout` and `Depth` values that replace the request's headers (the JSON
    /// flavour carries them in its body).
    timeout: Option<String>,
    depth: Option<&'static str>,
    /// Whether this is the JSON flavour, answered in JSON.
    json: bool,
}

impl LockCall {
    async fn run(
        self,
        app: &Arc<App>,
        parts: &Parts,
        path: &LockPath,
        principal: Option<&str>,
    ) -> Response {
        // A new lock waits for writes in progress, so that a lock holder never reads a
        // section that a write checked before the lock existed is about to change.
        let _writer = app.writer.lock().await;
        let document = app.document();
        let (exists, etag) = match &self.section {
            None => (true, Some(document.whole().etag.clone())),
            Some(name) => match document.section(name) {
                Some(r) => (true, Some(r.etag.clone())),
                None if creatable_section(name) => (false, None),
                None => return Problem::unknown_section(name).into_response(),
            },
        };
        let target = path.as_str().as_bytes();
        let mut request = protocol_request(parts, target, principal, exists, etag.as_deref());
        // The JSON flavour arrives as POST; it asks for what LOCK asks for.
        request.method = Method::Lock;
        if let Some(timeout) = &self.timeout {
            request.timeout = Some(timeout.as_bytes());
        }
        if let Some(depth) = self.depth {
            request.depth = Some(depth.as_bytes());
        }
        if let Some((scope, owner)) = &self.lockinfo {
            // Without enforcement (a demonstration only), locks never exclude each other.
            let scope = if app.enforce_locks {
                *scope
            } else {
                Scope::Shared
            };
            request = request.lockinfo(scope, owner);
        }
        let mut outcome = app
            .locks
            .with(|table, now| protocol::check(table, now, &request));
        if self.json {
            outcome = in_json_flavour(outcome, parts);
        }
        if let (Outcome::Granted { created: true, .. }, Some(name)) = (&outcome, &self.section) {
            // RFC 4918 §7.3: a LOCK on an unmapped URL creates an empty resource.
            let mut created = document.document().clone();
            created.create_empty(name);
            if let Err(problem) = app.store(created).await {
                if let Outcome::Granted { lock, .. } = &outcome {
                    app.locks
                        .with(|table, now| table.unlock(now, path, &lock.token, principal))
                        .ok();
                }
                return problem.into_response();
            }
        }
        if self.json {
            json_lock_response(&outcome)
        } else {
            respond(&outcome)
        }
    }
}

/// `UNLOCK`: releases the lock its `Lock-Token` names.
pub(crate) fn webdav_unlock(app: &Arc<App>, req: Incoming) -> Response {
    let request = protocol_request(
        &req.parts,
        req.path.as_str().as_bytes(),
        req.principal.as_deref(),
        true,
        None,
    );
    respond(
        &app.locks
            .with(|table, now| protocol::check(table, now, &request)),
    )
}

/// The body of `POST /config/{section}/lock`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonLockRequest {
    /// Who holds the lock, shown to others in conflicts.
    owner: Option<String>,
    /// The timeout asked for, in seconds.
    timeout_seconds: Option<u64>,
    /// `exclusive` (default) or `shared`.
    scope: Option<JsonScope>,
    /// `0` or `infinity` (default, as for WebDAV `LOCK`).
    depth: Option<JsonDepth>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum JsonScope {
    Exclusive,
    Shared,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum JsonDepth {
    #[serde(rename = "0")]
    Zero,
    #[serde(rename = "infinity")]
    Infinity,
}

/// A lock as the JSON flavour shows it to its holder.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLock<'a> {
    token: String,
    path: &'a str,
    scope: &'static str,
    depth: &'static str,
    owner: &'a str,
    /// The timeout granted, in seconds (`null` for an infinite lock).
    timeout_seconds: Option<u32>,
    /// Seconds until the lock expires unless refreshed (`null` for an infinite lock).
    expires_in_seconds: Option<u32>,
}

/// `POST /config/{section}/lock`: a new lock from a JSON body, or, with the token in
/// `If`, a refresh of that lock.
pub(crate) async fn json_lock(app: &Arc<App>, req: Incoming) -> Response {
    let (parts, path, principal, body) = match req.body().await {
        Ok(all) => all,
        Err(response) => return response,
    };
    let wanted: JsonLockRequest = if body.iter().all(u8::is_ascii_whitespace) {
        JsonLockRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(wanted) => wanted,
            Err(e) => return Problem::malformed_json(e).into_response(),
        }
    };
    let refresh = parts.headers.contains_key("if");
    let lockinfo = (!refresh).then(|| {
        let scope = match wanted.scope {
            Some(JsonScope::Shared) => Scope::Shared,
            _ => Scope::Exclusive,
        };
        (scope, wanted.owner.clone().unwrap_or_default())
    });
    let section = path.as_str().strip_prefix("/config/").map(str::to_owned);
    let lock = LockCall {
        section,
        lockinfo,
        timeout: wanted.timeout_seconds.map(|s| format!("Second-{s}")),
        depth: wanted.depth.map(|d| match d {
            JsonDepth::Zero => "0",
            JsonDepth::Infinity => "infinity",
        }),
        json: true,
    };
    lock.run(app, &parts, &path, principal.as_deref()).await
}

/// `DELETE /config/{section}/lock`: releases the lock named by `Lock-Token`, or by the
/// first token of `If` for clients that send only that.
pub(crate) fn json_unlock(app: &Arc<App>, req: Incoming) -> Response {
    let from_if = match (
        req.parts.headers.get("lock-token"),
        req.parts.headers.get("if"),
    ) {
        (None, Some(value)) => IfHeader::parse(value.as_bytes())
            .ok()
            .and_then(|h| h.submitted_tokens().first().map(|t| format!("<{t}>"))),
        _ => None,
    };
    let mut request = protocol_request(
        &req.parts,
        req.path.as_str().as_bytes(),
        req.principal.as_deref(),
        true,
        None,
    );
    request.method = Method::Unlock;
    if let Some(token) = &from_if {
        request.lock_token = Some(token.as_bytes());
    }
    let outcome = app
        .locks
        .with(|table, now| protocol::check(table, now, &request));
    respond(&in_json_flavour(outcome, &req.parts))
}

/// A refusal of the JSON flavour in the format its own method negotiates (problem+json
/// unless `Accept` prefers XML): the check saw it as the WebDAV method it stands for.
fn in_json_flavour(outcome: LockOutcome, parts: &Parts) -> LockOutcome {
    match outcome {
        Outcome::Refused { refusal, .. } => {
            let method = Method::parse(parts.method.as_str().as_bytes());
            let accept = parts.headers.get(header::ACCEPT).map(HeaderValue::as_bytes);
            Outcome::Refused {
                refusal,
                format: BodyFormat::negotiate(method, accept),
            }
        }
        other => other,
    }
}

/// `GET /locks`: the live locks, never their tokens.
pub(crate) fn list_locks(app: &Arc<App>) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Listed {
        path: String,
        scope: &'static str,
        depth: &'static str,
        owner: String,
        seconds_remaining: Option<u32>,
    }
    let locks: Vec<Listed> = app
        .locks
        .locks()
        .into_iter()
        .map(|lock| Listed {
            path: lock.root.as_str().to_owned(),
            scope: lock.scope.as_str(),
            depth: lock.depth.as_str(),
            seconds_remaining: lock.remaining_secs(),
            owner: lock.owner,
        })
        .collect();
    let body = serde_json::json!({ "locks": locks });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `PROPFIND`: `lockdiscovery` and `supportedlock` (RFC 4918 §15.8, §15.10) with the
/// resource type and ETag, of the target and, at `Depth: 1` on `/config`, its sections.
pub(crate) fn propfind(app: &Arc<App>, req: Incoming) -> Response {
    let principal = req.principal.as_deref();
    let depth = match req
        .parts
        .headers
        .get("depth")
        .map(|v| protocol::DepthHeader::parse(v.as_bytes()))
    {
        None => protocol::DepthHeader::Infinity,
        Some(Ok(depth)) => depth,
        Some(Err(e)) => {
            return respond(&LockOutcome::Refused {
                refusal: Refusal::BadHeader(protocol::HeaderError::Depth(e)),
                format: BodyFormat::negotiate(Method::Propfind, None),
            });
        }
    };
    let document = app.document();
    let mut members: Vec<(LockPath, Option<Arc<str>>)> = Vec::new();
    let collection = req.path.as_str() == "/config";
    if collection {
        members.push((req.path.clone(), Some(document.whole().etag.clone())));
        if depth != protocol::DepthHeader::Zero {
            for name in document.document().section_names() {
                if let Ok(path) = LockPath::new(&format!("/config/{name}")) {
                    members.push((path, document.section(name).map(|r| r.etag.clone())));
                }
            }
        }
    } else {
        let name = req.path.as_str().trim_start_matches("/config/");
        members.push((
            req.path.clone(),
            document.section(name).map(|r| r.etag.clone()),
        ));
    }
    if let Err(refused) = check_read(
        app,
        &req.parts,
        &req.path,
        principal,
        members.first().and_then(|m| m.1.as_deref()),
    ) {
        return refused;
    }
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">",
    );
    for (path, etag) in &members {
        let is_collection = path.as_str() == "/config";
        let _ = write!(
            xml,
            "<D:response><D:href>{}</D:href><D:propstat><D:prop>",
            path.as_str()
        );
        app.locks
            .with(|table, now| {
                let covering = table.locks_covering(now, path);
                protocol::write_lockdiscovery(&mut xml, covering, TICK_HZ, |lock| {
                    protocol::may_see_token(lock, principal)
                })
            })
            .ok();
        xml.push_str(concat!(
            "<D:supportedlock>",
            "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>",
            "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>",
            "</D:supportedlock>"
        ));
        if is_collection {
            xml.push_str("<D:resourcetype><D:collection/></D:resourcetype>");
        } else {
            xml.push_str("<D:resourcetype/><D:getcontenttype>application/json</D:getcontenttype>");
        }
        if let Some(etag) = etag {
            // ETags here are hex digits in quotes: nothing to escape.
            let _ = write!(xml, "<D:getetag>{etag}</D:getetag>");
        }
        xml.push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>");
    }
    xml.push_str("</D:multistatus>");
    (
        StatusCode::MULTI_STATUS,
        [
            (header::CONTENT_TYPE, protocol::XML_CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        xml,
    )
        .into_response()
}

/// A protocol outcome as an HTTP response: the status, headers and body the protocol
/// layer composed.
fn respond(outcome: &LockOutcome) -> Response {
    lockwarden_std::response::http_response(outcome, Disclosure::default()).map(Body::from)
}

/// The JSON flavour's answer: a granted or refreshed lock as JSON (with `Lock-Token`),
/// anything else as the protocol layer composed it.
fn json_lock_response(outcome: &LockOutcome) -> Response {
    let lock: &HeldLock<DEFAULT_PATH_LEN, DEFAULT_OWNER_LEN> = match outcome {
        Outcome::Granted { lock, .. } | Outcome::Refreshed { lock } => lock,
        _ => return respond(outcome),
    };
    let body = JsonLock {
        token: lock.token.to_string(),
        path: lock.root.as_str(),
        scope: lock.scope.as_str(),
        depth: lock.depth.as_str(),
        owner: lock.owner.as_str(),
        timeout_seconds: Expiry::from_timeout(lock.timeout, TICK_HZ).seconds(),
        expires_in_seconds: lock.expires.seconds(),
    };
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("<{}>", lock.token)) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("lock-token"), value);
    }
    if let Ok(value) = HeaderValue::from_str(&TimeoutValue(lock.timeout, TICK_HZ).to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("timeout"), value);
    }
    response
}

/// A `lockinfo` body the parser refused, as the protocol layer's 400.
fn bad_lockinfo(parts: &Parts, error: &LockInfoError) -> Response {
    let accept = parts.headers.get(header::ACCEPT).map(HeaderValue::as_bytes);
    respond(&LockOutcome::Refused {
        refusal: Refusal::BadLockInfo(error.kind()),
        format: BodyFormat::negotiate(Method::Lock, accept),
    })
}
