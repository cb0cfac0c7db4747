//! From an `http` request to the core's lock-check input ([`lockwarden::http::Request`]).
//!
//! Nothing is parsed here: the method name, the path and the raw bytes of the `If`,
//! `Lock-Token`, `Timeout`, `Depth`, `Accept` and `Destination` headers are handed to the
//! core, which parses and judges them. What the core cannot know (who is asking, whether
//! the resource exists, its entity tag, the parsed `lockinfo` body) comes from here.

use http::request::Parts;
use lockwarden::Path;
use lockwarden::http::{Method, Request, uri_path_of};

use crate::lockinfo::LockInfo;

/// The authenticated identity of a request, put into the request's extensions by an
/// authentication layer. Locks taken by a principal can be used, refreshed and released by
/// that principal only; requests without this extension are anonymous.
///
/// # Examples
///
/// ```
/// use lockwarden_std::Principal;
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Principal("alice".into()));
/// assert_eq!(request.extensions().get::<Principal>().unwrap().as_str(), "alice");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(pub String);

impl Principal {
    /// The principal's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the lock check needs to know about a resource that only the application knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Whether the resource exists now (a write that creates it also changes its parent's
    /// membership, RFC 4918 §7.3; a `LOCK` that creates it answers 201).
    pub exists: bool,
    /// Its current entity tag as the server states it (`"x"` or `W/"x"`), for `If`
    /// conditions on entity tags (RFC 4918 §10.4.4).
    pub etag: Option<String>,
}

impl Resource {
    /// An existing resource with this entity tag, if it has one.
    pub fn existing(etag: Option<String>) -> Self {
        Resource { exists: true, etag }
    }

    /// A resource that does not exist (an unmapped URL).
    pub fn missing() -> Self {
        Resource {
            exists: false,
            etag: None,
        }
    }
}

/// Tells the lock layer about the resources requests name, by their canonical path (or
/// the raw path when it has no canonical form; the check then refuses it anyway).
///
/// Closures `Fn(&str) -> Resource` implement it.
pub trait ResourceLookup: Send + Sync + 'static {
    /// The state of the resource at `path`.
    fn resource(&self, path: &str) -> Resource;
}

impl<F> ResourceLookup for F
where
    F: Fn(&str) -> Resource + Send + Sync + 'static,
{
    fn resource(&self, path: &str) -> Resource {
        self(path)
    }
}

/// The lookup used when an application gives none: no resource is known to exist, and
/// none has an entity tag (so `If` conditions on entity tags evaluate false). The safe
/// answer: a write that might create a resource also needs the lock of its parent
/// collection (RFC 4918 §7.5), and a `LOCK` answers 201.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeMissing;

impl ResourceLookup for AssumeMissing {
    fn resource(&self, _path: &str) -> Resource {
        Resource::missing()
    }
}

/// The resources a request names: its target and, for COPY and MOVE, its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// The request's target.
    pub target: Resource,
    /// The `Destination` of a COPY or MOVE.
    pub destination: Resource,
}

impl Resources {
    /// Looks up the target and the destination of the request in `lookup`.
    pub fn of<const P: usize>(parts: &Parts, lookup: &dyn ResourceLookup) -> Self {
        let target = lookup.resource(&canonical_or_raw::<P>(parts.uri.path()));
        let destination = match parts
            .headers
            .get("destination")
            .map(|v| uri_path_of(v.as_bytes()))
        {
            Some(Ok(path)) => lookup.resource(&canonical_or_raw::<P>(path)),
            _ => Resource::missing(),
        };
        Resources {
            target,
            destination,
        }
    }

    /// A request whose target is `target` and that names no destination.
    pub fn target(target: Resource) -> Self {
        Resources {
            target,
            destination: Resource::missing(),
        }
    }
}

fn canonical_or_raw<const P: usize>(raw: &str) -> String {
    match Path::<P>::new(raw) {
        Ok(path) => path.as_str().to_owned(),
        Err(_) => raw.to_owned(),
    }
}

/// The core's method for an `http` method.
pub fn method_of(method: &http::Method) -> Method {
    Method::parse(method.as_str().as_bytes())
}

/// The principal of a request, from its [`Principal`] extension.
pub fn principal_of(parts: &Parts) -> Option<&str> {
    parts.extensions.get::<Principal>().map(Principal::as_str)
}

/// The core's lock-check input for a request: its method, path, principal, lock headers,
/// the state of the resources it names, and a `LOCK` body's `lockinfo` (`None` for every
/// other request and for a refresh).
///
/// The owner is passed as the markup the client sent, verbatim (RFC 4918 §14.17).
///
/// # Examples
///
/// ```
/// use lockwarden::http::Method;
/// use lockwarden_std::{Resource, Resources};
/// use lockwarden_std::request::check_request;
///
/// let (parts, ()) = http::Request::put("/config/wifi")
///     .header("If", "(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let resources = Resources::target(Resource::existing(Some("\"v3\"".into())));
/// let request = check_request(&parts, &resources, None);
/// assert_eq!(request.method, Method::Put);
/// assert_eq!(request.target, b"/config/wifi");
/// assert!(request.if_header.is_some());
/// assert_eq!(request.etag, Some("\"v3\""));
/// ```
pub fn check_request<'a>(
    parts: &'a Parts,
    resources: &'a Resources,
    lockinfo: Option<&'a LockInfo>,
) -> Request<'a> {
    let mut request = Request::new(method_of(&parts.method), parts.uri.path().as_bytes())
        .resource(resources.target.exists, resources.target.etag.as_deref())
        .destination_resource(
            resources.destination.exists,
            resources.destination.etag.as_deref(),
        );
    for (name, value) in &parts.headers {
        request = request.header(name.as_str(), value.as_bytes());
    }
    if let Some(principal) = principal_of(parts) {
        request = request.principal(principal);
    }
    if let Some(info) = lockinfo {
        request = request.lockinfo(
            info.scope,
            info.owner.as_ref().map_or("", |o| o.markup.as_str()),
        );
    }
    request
}

/// A shared lookup, as the layer holds it.
#[cfg(feature = "axum")]
pub(crate) type SharedLookup = std::sync::Arc<dyn ResourceLookup>;
