//! Locks on the configuration, two ways with one semantics: WebDAV (`LOCK`, `UNLOCK`,
//! `PROPFIND` lockdiscovery, RFC 4918) and JSON (`POST`/`DELETE` on
//! `/config/{section}/lock`). Every decision is lockwarden's one-call check, reached
//! through lockwarden-std's manager; this module translates requests in and answers out.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockwarden::http::{
    self as protocol, BodyFormat, Expiry, HeaderError, HeldLock, IfHeader, Method, Outcome, Refusal,
};
use lockwarden::{Path, Scope};
use lockwarden_std::lockinfo::{LockInfo, Owner};
use lockwarden_std::manager::{DEFAULT_OWNER_LEN, DEFAULT_PATH_LEN};
use lockwarden_std::request::{check_request, principal_of};
use lockwarden_std::{LockResponse, Resources, TICK_HZ};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::problem::Problem;
use crate::routes::{ALLOW_LOCK, ALLOW_LOCKS, creatable_section, created, options, read_body};

/// A canonical path as the lock table stores it.
pub(crate) type LockPath = Path<DEFAULT_PATH_LEN>;
/// An outcome of the lock check for this server's table.
pub(crate) type LockOutcome = Outcome<DEFAULT_PATH_LEN, DEFAULT_OWNER_LEN>;

/// WebDAV `LOCK` (create or refresh) and `UNLOCK` on `/config` (`section` `None`) or a
/// section. A `LOCK` on an unmapped section creates it, empty (RFC 4918 §7.3).
pub(crate) async fn webdav(app: &Arc<App>, request: Request, section: Option<String>) -> Response {
    let path = request.uri().path().to_owned();
    let resource = app.resource(&path);
    if let Some(name) = &section
        && !resource.exists
        && !(request.method() == "LOCK" && creatable_section(name))
    {
        return Problem::unknown_section(name).into_response();
    }
    let principal = request
        .extensions()
        .get::<lockwarden_std::Principal>()
        .cloned();
    #[cfg(feature = "etcd")]
    if let Some(fleet) = &app.fleet {
        let answer =
            lockwarden_std::store::respond(&*fleet.store, request, &Resources::target(resource))
                .await;
        if let (true, Some(name)) = (created(&answer.outcome), &section)
            && let Err(problem) = fleet
                .create_section(app, name, &answer.outcome, principal.as_ref())
                .await
        {
            return problem.into_response();
        }
        return answer.into_response();
    }
    let answer = app
        .locks
        .respond(request, &Resources::target(resource))
        .await;
    if let (true, Some(name)) = (created(&answer.outcome), &section) {
        let name = name.clone();
        if let Err(problem) = app
            .changes
            .apply(|document| {
                document
                    .create_empty(&name, &app.store_limits)
                    .map_err(|e| Problem::edit_refused(&name, &e))
            })
            .await
        {
            // The resource could not be created: neither may its lock stay.
            if let (Outcome::Granted { lock, .. }, Ok(path)) =
                (&answer.outcome, LockPath::new(&path))
            {
                let _ =
                    app.locks
                        .unlock(&path, &lock.token, principal.as_ref().map(|p| p.as_str()));
            }
            return problem.into_response();
        }
    }
    answer.into_response()
}

/// `/config/lock` and `/config/{section}/lock`: the JSON way to take, refresh and
/// release the lock of `/config` or a section.
pub(crate) async fn json_lock_resource(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request.uri().path();
    let Some(target) = LockPath::new(path).ok().and_then(|p| p.parent()) else {
        return Problem::not_found(path).into_response();
    };
    if let Some(name) = target.as_str().strip_prefix("/config/")
        && app.document().section(name).is_none()
    {
        return Problem::unknown_section(name).into_response();
    }
    match request.method().as_str() {
        "POST" => json_lock(&app, request, &target).await,
        "DELETE" => json_unlock(&app, request, &target).await,
        "OPTIONS" => options(ALLOW_LOCK),
        m => Problem::method_not_allowed(m, path, ALLOW_LOCK).into_response(),
    }
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
    owner: String,
    /// The timeout granted, in seconds (`null` for an infinite lock).
    timeout_seconds: Option<u32>,
    /// Seconds until the lock expires unless refreshed (`null` for an infinite lock).
    expires_in_seconds: Option<u32>,
}

/// `POST …/lock`: a new lock from a JSON body, or, with the token in `If`, a refresh of
/// that lock.
async fn json_lock(app: &App, request: Request, target: &LockPath) -> Response {
    let (parts, body) = match read_body(app, request).await {
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
            // Without enforcement (a demonstration only), locks never exclude each other.
            _ if !app.enforce_locks => Scope::Shared,
            Some(JsonScope::Shared) => Scope::Shared,
            Some(JsonScope::Exclusive) | None => Scope::Exclusive,
        };
        // A JSON owner is text: kept as its XML escape, the one form the table keeps.
        let owner = wanted.owner.as_deref().unwrap_or_default();
        LockInfo {
            scope,
            owner: Some(Owner::from_text(owner)),
        }
    });
    let timeout = wanted.timeout_seconds.map(|s| format!("Second-{s}"));
    let resources = Resources::target(app.resource(target.as_str()));
    let mut check = check_request(&parts, &resources, lockinfo.as_ref());
    // It asks for what LOCK on the section asks for.
    check.method = Method::Lock;
    check.target = target.as_str().as_bytes();
    if let Some(timeout) = &timeout {
        check.timeout = Some(timeout.as_bytes());
    }
    if let Some(depth) = wanted.depth {
        check.depth = Some(match depth {
            JsonDepth::Zero => b"0",
            JsonDepth::Infinity => b"infinity",
        });
    }
    #[cfg(feature = "etcd")]
    if let Some(fleet) = &app.fleet {
        let outcome = fleet.store.check(&check).await;
        return json_lock_response(app, in_json_flavour(outcome, &parts));
    }
    let outcome = if refresh {
        app.locks.check(&check)
    } else {
        app.locks.check_lock(&parts, &check).await
    };
    json_lock_response(app, in_json_flavour(outcome, &parts))
}

/// `DELETE …/lock`: releases the lock named by `Lock-Token`, or by the first token of
/// `If` for clients that send only that.
async fn json_unlock(app: &App, request: Request, target: &LockPath) -> Response {
    let (parts, _) = request.into_parts();
    let from_if = match (parts.headers.get("lock-token"), parts.headers.get("if")) {
        (None, Some(value)) => IfHeader::parse(value.as_bytes())
            .ok()
            .and_then(|h| h.submitted_tokens().first().map(|t| format!("<{t}>"))),
        _ => None,
    };
    let resources = Resources::target(app.resource(target.as_str()));
    let mut check = check_request(&parts, &resources, None);
    check.method = Method::Unlock;
    check.target = target.as_str().as_bytes();
    if let Some(token) = &from_if {
        check.lock_token = Some(token.as_bytes());
    }
    #[cfg(feature = "etcd")]
    if let Some(fleet) = &app.fleet {
        let outcome = fleet.store.check(&check).await;
        return LockResponse::new(in_json_flavour(outcome, &parts), app.disclosure())
            .into_response();
    }
    let outcome = app.locks.check(&check);
    LockResponse::new(in_json_flavour(outcome, &parts), app.locks.disclosure()).into_response()
}

/// A refusal in the format the JSON flavour's own method negotiates (problem+json
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
pub(crate) async fn list_locks(State(app): State<Arc<App>>, request: Request) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Listed {
        path: String,
        scope: &'static str,
        depth: &'static str,
        /// The owner's text; absent where the deployment hides it (`--hide-owners`).
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        seconds_remaining: Option<u32>,
    }
    match request.method().as_str() {
        "GET" | "HEAD" => {}
        "OPTIONS" => return options(ALLOW_LOCKS),
        m => return Problem::method_not_allowed(m, "/locks", ALLOW_LOCKS).into_response(),
    }
    let viewer = request
        .extensions()
        .get::<lockwarden_std::Principal>()
        .map(|p| p.as_str());
    let disclosure = app.disclosure();
    #[cfg(feature = "etcd")]
    let all = match &app.fleet {
        Some(fleet) => match fleet.store.locks().await {
            Ok(locks) => locks,
            Err(error) => {
                return crate::fleet::unavailable_response(
                    request.method(),
                    request.headers(),
                    &error,
                );
            }
        },
        None => app.locks.locks(),
    };
    #[cfg(not(feature = "etcd"))]
    let all = app.locks.locks();
    let locks: Vec<Listed> = all
        .into_iter()
        .map(|lock| Listed {
            path: lock.root.as_str().to_owned(),
            scope: lock.scope.as_str(),
            depth: lock.depth.as_str(),
            seconds_remaining: lock.remaining_secs(),
            owner: lock.owner_for(viewer, disclosure),
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
/// resource type and ETag, of the target and, below `Depth: 0` on `/config`, of its
/// sections. The request body is not read: every request gets these properties.
pub(crate) async fn propfind(app: &App, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let depth = match parts
        .headers
        .get("depth")
        .map(|v| protocol::DepthHeader::parse(v.as_bytes()))
    {
        None => protocol::DepthHeader::Infinity,
        Some(Ok(depth)) => depth,
        Some(Err(e)) => {
            let accept = parts.headers.get(header::ACCEPT).map(HeaderValue::as_bytes);
            let outcome = LockOutcome::Refused {
                refusal: Refusal::BadHeader(HeaderError::Depth(e)),
                format: BodyFormat::negotiate(Method::Propfind, accept),
            };
            return LockResponse::new(outcome, app.locks.disclosure()).into_response();
        }
    };
    let document = app.document();
    let path = parts.uri.path();
    let mut members = vec![path.to_owned()];
    if path == "/config" && depth != protocol::DepthHeader::Zero {
        members.extend(
            document
                .document()
                .section_names()
                .map(|name| format!("/config/{name}")),
        );
    }
    let viewer = principal_of(&parts);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">",
    );
    for member in &members {
        let Ok(member_path) = LockPath::new(member) else {
            continue;
        };
        let is_collection = member == "/config";
        // Section names are ASCII letters, digits, '-' and '_': nothing to escape.
        let _ = write!(
            xml,
            "<D:response><D:href>{member}</D:href><D:propstat><D:prop>"
        );
        #[cfg(feature = "etcd")]
        if let Some(fleet) = &app.fleet {
            match fleet.store.lockdiscovery(&member_path, viewer).await {
                Ok(discovery) => xml.push_str(&discovery),
                Err(error) => {
                    return crate::fleet::unavailable_response(
                        &parts.method,
                        &parts.headers,
                        &error,
                    );
                }
            }
        } else {
            xml.push_str(&app.locks.lockdiscovery(&member_path, viewer));
        }
        #[cfg(not(feature = "etcd"))]
        xml.push_str(&app.locks.lockdiscovery(&member_path, viewer));
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
        if let Some(etag) = app.resource(member).etag {
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

/// The JSON flavour's answer: a granted or refreshed lock as JSON (with `Lock-Token`),
/// anything else as the protocol layer composed it.
fn json_lock_response(app: &App, outcome: LockOutcome) -> Response {
    let lock: &HeldLock<DEFAULT_PATH_LEN, DEFAULT_OWNER_LEN> = match &outcome {
        Outcome::Granted { lock, .. } | Outcome::Refreshed { lock } => lock,
        _ => return LockResponse::new(outcome, app.disclosure()).into_response(),
    };
    let body = JsonLock {
        token: lock.token.to_string(),
        path: lock.root.as_str(),
        scope: lock.scope.as_str(),
        depth: lock.depth.as_str(),
        owner: protocol::OwnerText(&lock.owner).to_string(),
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
    response
}
