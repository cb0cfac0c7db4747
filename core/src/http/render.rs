//! Composing responses: headers and bodies for each outcome, written into a caller's
//! buffer or any [`fmt::Write`], never allocating.
//!
//! Bodies:
//! - problem+json (RFC 9457) with the camelCase extension members `lockRoot`,
//!   `lockScope`, `lockDepth`, `owner` (unless the deployment hides owners) and
//!   `expiresInSeconds` (absent for an infinite lock); `header` names a malformed header;
//! - `DAV:error` XML (RFC 4918 §16) with the precondition element, holding the lock
//!   root's href where the precondition has one. Refusals that RFC 4918 gives no
//!   precondition carry an element of the problem's name in the
//!   `https://lockwarden.dev/problems/` namespace, with the detail as its text;
//! - `multistatus` for a depth-infinity `LOCK` blocked below (§9.10.9);
//! - `prop`/`lockdiscovery` for a granted or refreshed lock (§9.10.1).
//!
//! The owner is kept as the markup the client sent inside `DAV:owner` and written back
//! verbatim in `lockdiscovery` (RFC 4918 §14.17); problem+json shows its text
//! ([`OwnerText`]). Hrefs are percent-encoded canonical paths.

use core::fmt::{self, Write};

use crate::text::Text;

use heapless::String;

use super::accept::XML_CONTENT_TYPE;
use super::outcome::{Expiry, Outcome, PROBLEM_BASE, Refusal};
use super::owner::OwnerText;
use super::write::{
    BufferTooSmall, ByteCounter, JsonEscape, decimal, json_string, pieces, render_into, uri_path,
};
use crate::lock::ActiveLock;
use crate::tick::Timeout;
#[cfg(feature = "http-full")]
use {
    super::accept::BodyFormat,
    super::outcome::HeldLock,
    super::write::XmlEscape,
    crate::lock::{Depth, Scope},
    crate::token::LockToken,
};

/// What a deployment shows of a lock to clients that do not hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Disclosure {
    /// Whether other clients see a lock's owner (PROTOCOL.md: who holds a lock is shown
    /// as its owner, unless the deployment must hide it). Every writer obeys it: refusals,
    /// `lockdiscovery`, lock lists.
    pub owner: bool,
}

impl Disclosure {
    /// Whether `viewer` sees the owner of a lock created by `holder`: always when owners
    /// are shown; otherwise only a lock's own principal sees it (an anonymous lock has
    /// nobody to show it to).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Disclosure;
    /// let hidden = Disclosure { owner: false };
    /// assert!(hidden.shows_owner(Some("alice"), Some("alice")));
    /// assert!(!hidden.shows_owner(Some("alice"), Some("bob")));
    /// assert!(!hidden.shows_owner(None, None));
    /// assert!(Disclosure::default().shows_owner(None, None));
    /// ```
    pub fn shows_owner(self, holder: Option<&str>, viewer: Option<&str>) -> bool {
        self.owner || (holder.is_some() && holder == viewer)
    }
}

impl Default for Disclosure {
    fn default() -> Self {
        Disclosure { owner: true }
    }
}

/// A header value, rendered inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderValue(String<64>);

impl HeaderValue {
    /// The value as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    fn written(write: &ValueWriter<'_>) -> Self {
        let mut v = String::new();
        // Every value built here is shorter than 64 bytes.
        let _ = write(&mut v);
        HeaderValue(v)
    }
}

impl fmt::Display for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes one header's value.
type ValueWriter<'v> = dyn Fn(&mut dyn Text) -> fmt::Result + 'v;
/// Receives each header: its name and the writer of its value.
type HeaderVisitor<'f> = dyn FnMut(&'static str, &ValueWriter<'_>) -> fmt::Result + 'f;

/// One response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: &'static str,
    /// Its value.
    pub value: HeaderValue,
}

impl<const P: usize, const O: usize> Outcome<P, O> {
    /// The `Content-Type` of the body, or `None` when there is no body.
    pub const fn content_type(&self) -> Option<&'static str> {
        match self {
            Outcome::Allowed | Outcome::Unlocked => None,
            // The minimal profile answers a granted or refreshed lock without a body.
            Outcome::Granted { .. } | Outcome::Refreshed { .. } if !cfg!(feature = "http-full") => {
                None
            }
            Outcome::Granted { .. } | Outcome::Refreshed { .. } => Some(XML_CONTENT_TYPE),
            Outcome::Refused {
                refusal: Refusal::LockBlockedBelow { .. },
                ..
            } if cfg!(feature = "http-full") => Some(XML_CONTENT_TYPE),
            Outcome::Refused { format, .. } => Some(format.written().content_type()),
        }
    }

    /// The response headers, `Content-Length` aside: `Content-Type`; on refusals
    /// `Cache-Control: no-store` (a cached refusal outlives its lock, RFC 9111 §5.2.2.5),
    /// `Vary: Accept` and `Retry-After` in seconds when waiting cures the refusal and
    /// its lock is finite; `Lock-Token` on a granted lock (RFC 4918 §10.5), and
    /// `Cache-Control: no-store` on granted and refreshed locks, whose bodies carry the
    /// token; `Connection: close` on a 408.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{Expiry, Outcome, Refusal, BodyFormat};
    /// let full: Outcome<64, 64> = Outcome::Refused {
    ///     refusal: Refusal::TableFull { retry_after: Expiry::InSeconds(7) },
    ///     format: BodyFormat::ProblemJson,
    /// };
    /// let headers: Vec<(&str, String)> =
    ///     full.headers().map(|h| (h.name, h.value.to_string())).collect();
    /// assert!(headers.contains(&("Retry-After", "7".into())));
    /// assert!(headers.contains(&("Cache-Control", "no-store".into())));
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = Header> + use<P, O> {
        let mut all: [Option<Header>; 5] = [None, None, None, None, None];
        let mut slots = all.iter_mut();
        // Cannot fail: the values are written into strings long enough for each.
        let _ = self.each_header(&mut |name, value| {
            if let Some(slot) = slots.next() {
                *slot = Some(Header {
                    name,
                    value: HeaderValue::written(value),
                });
            }
            Ok(())
        });
        all.into_iter().flatten()
    }

    /// Calls `f` with each response header's name and a writer of its value, in order:
    /// the one list of headers, collected by [`Outcome::headers`] and written straight
    /// into a response by [`Outcome::write_response`].
    fn each_header(&self, f: &mut HeaderVisitor<'_>) -> fmt::Result {
        let no_store: &ValueWriter<'_> = &|w| w.write_str("no-store");
        if let Some(content_type) = self.content_type() {
            f("Content-Type", &|w| w.write_str(content_type))?;
        }
        match self {
            Outcome::Granted { lock, .. } => {
                f("Lock-Token", &|w| {
                    w.write_str("<")?;
                    lock.token.write_text(w)?;
                    w.write_str(">")
                })?;
                // The body and the header carry the token: a cached copy would leak it.
                f("Cache-Control", no_store)
            }
            Outcome::Refreshed { .. } => f("Cache-Control", no_store),
            Outcome::Refused { refusal, .. } => {
                f("Cache-Control", no_store)?;
                if cfg!(feature = "http-full") {
                    f("Vary", &|w| w.write_str("Accept"))?;
                }
                if let Some(secs) = refusal.retry_after() {
                    f("Retry-After", &|w| decimal(w, secs as usize))?;
                }
                #[cfg(feature = "http-full")]
                if let Refusal::RequestTimeout { .. } = refusal {
                    // The rest of the request may still be on its way: the connection
                    // cannot be reused (RFC 9110 §15.5.9).
                    f("Connection", &|w| w.write_str("close"))?;
                }
                Ok(())
            }
            Outcome::Allowed | Outcome::Unlocked => Ok(()),
        }
    }

    /// Writes the body (nothing for outcomes without one).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{BodyFormat, Disclosure, Outcome, Refusal};
    /// let outcome: Outcome<64, 64> =
    ///     Outcome::Refused { refusal: Refusal::UnlockTokenMismatch, format: BodyFormat::DavXml };
    /// let mut body = String::new();
    /// outcome.write_body(&mut body, Disclosure::default()).unwrap();
    /// assert_eq!(outcome.body_len(Disclosure::default()), body.len());
    /// // With `http-full` the body is the format asked for; the minimal profile writes
    /// // problem+json whatever the format.
    /// if cfg!(feature = "http-full") {
    ///     assert!(body.ends_with("<D:error xmlns:D=\"DAV:\"><D:lock-token-matches-request-uri/></D:error>"));
    /// } else {
    ///     assert!(body.contains("\"status\":409"));
    /// }
    /// ```
    pub fn write_body(&self, w: &mut impl Write, disclosure: Disclosure) -> fmt::Result {
        self.body(w, disclosure)
    }

    fn body(&self, w: &mut dyn Text, disclosure: Disclosure) -> fmt::Result {
        match self {
            Outcome::Allowed | Outcome::Unlocked => Ok(()),
            #[cfg(not(feature = "http-full"))]
            Outcome::Granted { .. } | Outcome::Refreshed { .. } => Ok(()),
            #[cfg(feature = "http-full")]
            Outcome::Granted { lock, .. } | Outcome::Refreshed { lock } => {
                w.write_str(XML_DECLARATION)?;
                w.write_str("<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>")?;
                held_activelock(w, lock)?;
                w.write_str("</D:lockdiscovery></D:prop>")
            }
            #[cfg(feature = "http-full")]
            Outcome::Refused {
                refusal: refusal @ Refusal::LockBlockedBelow { .. },
                ..
            } => multistatus(w, refusal),
            #[cfg(feature = "http-full")]
            Outcome::Refused {
                refusal,
                format: BodyFormat::DavXml,
            } => dav_error(w, refusal),
            Outcome::Refused { refusal, .. } => problem_json(w, refusal, disclosure),
        }
    }

    /// Writes the body into `buf` and returns its length.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the length the body needs.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{BodyFormat, Disclosure, Outcome, Refusal};
    /// let outcome: Outcome<64, 64> =
    ///     Outcome::Refused { refusal: Refusal::Forbidden, format: BodyFormat::ProblemJson };
    /// let mut buf = [0u8; 512];
    /// let n = outcome.body_into(&mut buf, Disclosure::default()).unwrap();
    /// assert!(buf[..n].starts_with(b"{\"type\":\"https://lockwarden.dev/problems/"));
    /// assert_eq!(outcome.body_into(&mut buf[..4], Disclosure::default()).unwrap_err().needed, n);
    /// ```
    pub fn body_into(
        &self,
        buf: &mut [u8],
        disclosure: Disclosure,
    ) -> Result<usize, BufferTooSmall> {
        render_into(buf, |w| self.body(w, disclosure))
    }

    /// The length of the body in bytes.
    pub fn body_len(&self, disclosure: Disclosure) -> usize {
        let mut count = ByteCounter(0);
        let _ = self.body(&mut count, disclosure);
        count.0
    }

    /// Writes a whole HTTP/1.1 response: status line, headers with `Content-Length`,
    /// blank line, body. For firmware that writes to its socket directly.
    pub fn write_response(&self, w: &mut impl Write, disclosure: Disclosure) -> fmt::Result {
        self.response(w, disclosure)
    }

    fn response(&self, w: &mut dyn Text, disclosure: Disclosure) -> fmt::Result {
        let (status, reason) = self.status();
        w.write_str("HTTP/1.1 ")?;
        decimal(w, usize::from(status))?;
        pieces(w, &[" ", reason, "\r\n"])?;
        self.each_header(&mut |name, value| {
            pieces(w, &[name, ": "])?;
            value(w)?;
            w.write_str("\r\n")
        })?;
        w.write_str("Content-Length: ")?;
        decimal(w, self.body_len(disclosure))?;
        w.write_str("\r\n\r\n")?;
        self.body(w, disclosure)
    }

    /// Writes a whole HTTP/1.1 response into `buf` and returns its length.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the length the response needs.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{Disclosure, Outcome};
    /// let mut buf = [0u8; 64];
    /// let n = Outcome::<64, 64>::Unlocked.response_into(&mut buf, Disclosure::default()).unwrap();
    /// assert_eq!(&buf[..n], b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    /// assert!(Outcome::<64, 64>::Unlocked.response_into(&mut buf[..8], Disclosure::default()).is_err());
    /// ```
    pub fn response_into(
        &self,
        buf: &mut [u8],
        disclosure: Disclosure,
    ) -> Result<usize, BufferTooSmall> {
        render_into(buf, |w| self.response(w, disclosure))
    }
}

#[cfg(feature = "http-full")]
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

impl<const P: usize, const O: usize> Refusal<P, O> {
    /// Writes the human-readable explanation of the refusal (the problem's `detail`).
    /// Refusals that a lock causes say that the same request will succeed once the
    /// lock is released or expires.
    pub fn write_detail(&self, w: &mut impl Write) -> fmt::Result {
        self.detail(w)
    }

    fn detail(&self, w: &mut dyn Text) -> fmt::Result {
        match self {
            Refusal::Locked { method, path, lock } => pieces(
                w,
                &[
                    method.as_str(),
                    " ",
                    path.as_str(),
                    " needs the token of the ",
                    lock.scope.as_str(),
                    " lock on ",
                    lock.root.as_str(),
                    " (depth ",
                    lock.depth.as_str(),
                    "). Send it as If: (<token>), or retry after the lock is released or expires.",
                ],
            ),
            Refusal::LockConflict { path, lock } | Refusal::LockBlockedBelow { path, lock } => {
                pieces(
                    w,
                    &[
                        "LOCK ",
                        path.as_str(),
                        " conflicts with the ",
                        lock.scope.as_str(),
                        " lock on ",
                        lock.root.as_str(),
                        " (depth ",
                        lock.depth.as_str(),
                        "). The same request will succeed once that lock is released or expires.",
                    ],
                )
            }
            Refusal::PreconditionFailed => w.write_str(
                "The If header evaluated false: a lock token it names is unknown, expired or does not cover the resource, or an entity tag does not match.",
            ),
            Refusal::NoLockToRefresh => w.write_str(
                "No lock named in the If header covers the request URL; it may have expired or been released. Take a new lock.",
            ),
            Refusal::UnlockTokenMismatch => w.write_str(
                "The Lock-Token names no lock that covers the request URL; it may have expired or been released.",
            ),
            Refusal::Forbidden => {
                w.write_str("The lock token belongs to a lock held by another principal.")
            }
            Refusal::QuotaExceeded => w.write_str(
                "This principal already holds as many locks as it may. Release one, or retry when one expires.",
            ),
            Refusal::PrincipalTooLong => w.write_str(
                "The principal's name is longer than the lock table can store, so it cannot hold locks.",
            ),
            Refusal::TableFull { retry_after: Expiry::InSeconds(s) } => {
                w.write_str("Every slot of the lock table holds a live lock. The same request will succeed once a lock is released or expires, at the latest in ")?;
                decimal(w, *s as usize)?;
                w.write_str(" seconds.")
            }
            Refusal::TableFull { retry_after: Expiry::Never } => w.write_str(
                "Every slot of the lock table holds a lock without timeout. The same request will succeed once a lock is released.",
            ),
            Refusal::TooManyPrincipals { retry_after: Expiry::InSeconds(s) } => {
                w.write_str("The lock table holds the locks of as many principals as it can. Retry once another principal's locks are gone; the first lock expires in ")?;
                decimal(w, *s as usize)?;
                w.write_str(" seconds.")
            }
            Refusal::TooManyPrincipals { retry_after: Expiry::Never } => w.write_str(
                "The lock table holds locks without timeout of as many principals as it can. Retry once another principal's locks are released.",
            ),
            Refusal::BadHeader(e) => {
                e.write_text(w)?;
                w.write_str(".")
            }
            Refusal::BadLockInfo(e) => pieces(w, &[e.message(), "."]),
            Refusal::BadPath { source, error } => {
                let which = match source {
                    super::outcome::PathSource::Request => "The request path",
                    super::outcome::PathSource::Destination => "The Destination path",
                };
                pieces(w, &[which, ": ", error.message(), "."])
            }
            Refusal::Unseeded => w.write_str(
                "The lock table has no token seed; the server must seed it before it grants locks.",
            ),
            #[cfg(feature = "http-full")]
            Refusal::BodyTooLarge { limit } => {
                w.write_str("Request bodies are limited to ")?;
                decimal(w, *limit as usize)?;
                w.write_str(" bytes; nothing was changed.")
            }
            #[cfg(feature = "http-full")]
            Refusal::RequestTimeout { limit_secs } => {
                w.write_str("The request was not received within ")?;
                decimal(w, *limit_secs as usize)?;
                w.write_str(" seconds; nothing was changed and the connection is closed. Send it again, whole.")
            }
            #[cfg(feature = "http-full")]
            Refusal::IncompleteBody => w.write_str(
                "The request body ended before it was complete; nothing was changed.",
            ),
            #[cfg(feature = "http-full")]
            Refusal::UnexpectedBody { method } => pieces(
                w,
                &[method.as_str(), " takes no request body; send it without one."],
            ),
            #[cfg(feature = "http-full")]
            Refusal::StoreUnavailable { retry_after_secs } => {
                w.write_str("The lock store cannot be reached, so no lock can be checked and nothing was changed. The same request will succeed once it is back; retry in ")?;
                decimal(w, *retry_after_secs as usize)?;
                w.write_str(" seconds.")
            }
        }
    }
}

fn problem_json<const P: usize, const O: usize>(
    w: &mut dyn Text,
    refusal: &Refusal<P, O>,
    disclosure: Disclosure,
) -> fmt::Result {
    let m = refusal.meaning();
    pieces(
        w,
        &["{\"type\":\"", PROBLEM_BASE, m.problem, "\",\"title\":"],
    )?;
    json_string(w, m.title)?;
    w.write_str(",\"status\":")?;
    decimal(w, usize::from(m.status))?;
    w.write_str(",\"detail\":\"")?;
    refusal.detail(&mut JsonEscape(w))?;
    w.write_str("\"")?;
    if let Refusal::BadHeader(e) = refusal {
        w.write_str(",\"header\":")?;
        json_string(w, e.header())?;
    }
    if let Some(lock) = refusal.lock() {
        w.write_str(",\"lockRoot\":\"")?;
        uri_path(&mut JsonEscape(w), lock.root.as_str())?;
        pieces(
            w,
            &[
                "\",\"lockScope\":\"",
                lock.scope.as_str(),
                "\",\"lockDepth\":\"",
                lock.depth.as_str(),
                "\"",
            ],
        )?;
        if disclosure.owner {
            w.write_str(",\"owner\":\"")?;
            OwnerText(&lock.owner).write_text(&mut JsonEscape(w))?;
            w.write_str("\"")?;
        }
        if let Expiry::InSeconds(s) = lock.expires {
            w.write_str(",\"expiresInSeconds\":")?;
            decimal(w, s as usize)?;
        }
    }
    w.write_str("}")
}

#[cfg(feature = "http-full")]
fn href(w: &mut dyn Text, path: &str) -> fmt::Result {
    w.write_str("<D:href>")?;
    uri_path(&mut XmlEscape(w), path)?;
    w.write_str("</D:href>")
}

#[cfg(feature = "http-full")]
fn dav_error<const P: usize, const O: usize>(
    w: &mut dyn Text,
    refusal: &Refusal<P, O>,
) -> fmt::Result {
    let m = refusal.meaning();
    w.write_str(XML_DECLARATION)?;
    w.write_str("<D:error xmlns:D=\"DAV:\">")?;
    match (m.precondition, refusal.lock()) {
        (Some(condition), Some(lock)) => {
            pieces(w, &["<D:", condition, ">"])?;
            href(w, lock.root.as_str())?;
            pieces(w, &["</D:", condition, ">"])?;
        }
        (Some(condition), None) => pieces(w, &["<D:", condition, "/>"])?,
        (None, _) => {
            pieces(w, &["<L:", m.problem, " xmlns:L=\"", PROBLEM_BASE, "\">"])?;
            refusal.detail(&mut XmlEscape(w))?;
            pieces(w, &["</L:", m.problem, ">"])?;
        }
    }
    w.write_str("</D:error>")
}

#[cfg(feature = "http-full")]
fn multistatus<const P: usize, const O: usize>(
    w: &mut dyn Text,
    refusal: &Refusal<P, O>,
) -> fmt::Result {
    let (Refusal::LockBlockedBelow { path, lock } | Refusal::LockConflict { path, lock }) = refusal
    else {
        return dav_error(w, refusal);
    };
    w.write_str(XML_DECLARATION)?;
    w.write_str("<D:multistatus xmlns:D=\"DAV:\"><D:response>")?;
    href(w, lock.root.as_str())?;
    w.write_str("<D:status>HTTP/1.1 423 Locked</D:status><D:error><D:no-conflicting-lock>")?;
    href(w, lock.root.as_str())?;
    w.write_str("</D:no-conflicting-lock></D:error></D:response><D:response>")?;
    href(w, path.as_str())?;
    w.write_str(
        "<D:propstat><D:prop><D:lockdiscovery/></D:prop><D:status>HTTP/1.1 424 Failed Dependency</D:status></D:propstat></D:response></D:multistatus>",
    )
}

/// The fields of a `DAV:activelock` element.
#[cfg(feature = "http-full")]
struct ActiveLockXml<'a> {
    root: &'a str,
    scope: Scope,
    depth: Depth,
    owner: &'a str,
    expires: Expiry,
    token: Option<LockToken>,
}

#[cfg(feature = "http-full")]
fn activelock(w: &mut dyn Text, lock: &ActiveLockXml<'_>) -> fmt::Result {
    pieces(
        w,
        &[
            "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:",
            lock.scope.as_str(),
            "/></D:lockscope><D:depth>",
            lock.depth.as_str(),
            "</D:depth>",
        ],
    )?;
    if !lock.owner.is_empty() {
        // The markup as the client sent it (RFC 4918 §14.17), not escaped as text.
        w.write_str("<D:owner>")?;
        w.write_str(lock.owner)?;
        w.write_str("</D:owner>")?;
    }
    match lock.expires {
        Expiry::InSeconds(s) => {
            w.write_str("<D:timeout>Second-")?;
            decimal(w, s as usize)?;
            w.write_str("</D:timeout>")?;
        }
        Expiry::Never => w.write_str("<D:timeout>Infinite</D:timeout>")?,
    }
    if let Some(token) = lock.token {
        w.write_str("<D:locktoken><D:href>")?;
        token.write_text(w)?;
        w.write_str("</D:href></D:locktoken>")?;
    }
    w.write_str("<D:lockroot>")?;
    href(w, lock.root)?;
    w.write_str("</D:lockroot></D:activelock>")
}

#[cfg(feature = "http-full")]
fn held_activelock<const P: usize, const O: usize>(
    w: &mut dyn Text,
    lock: &HeldLock<P, O>,
) -> fmt::Result {
    activelock(
        w,
        &ActiveLockXml {
            root: lock.root.as_str(),
            scope: lock.scope,
            depth: lock.depth,
            owner: &lock.owner,
            expires: lock.expires,
            token: Some(lock.token),
        },
    )
}

/// Whether `viewer` may see the token of `lock` in a `lockdiscovery`: a lock that has a
/// principal shows its token to that principal only; an anonymous lock shows it to
/// everyone (it protects nobody's identity, and RFC 4918 §6.5 treats tokens as public).
///
/// # Examples
///
/// ```
/// # use lockwarden::*;
/// use lockwarden::http::may_see_token;
/// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
/// table.seed_tokens([7; 16]);
/// let p = Path::new("/config").unwrap();
/// table.lock(Instant(0), &LockRequest::exclusive(&p, "me").principal("alice")).unwrap();
/// let lock = table.locks(Instant(0)).next().unwrap();
/// assert!(may_see_token(&lock, Some("alice")));
/// assert!(!may_see_token(&lock, Some("bob")));
/// assert!(!may_see_token(&lock, None));
/// ```
pub fn may_see_token<const P: usize>(lock: &ActiveLock<'_, P>, viewer: Option<&str>) -> bool {
    match lock.principal {
        Some(holder) => viewer == Some(holder),
        None => true,
    }
}

/// Writes a `DAV:lockdiscovery` element (RFC 4918 §15.8) for a PROPFIND `prop`, as
/// `viewer` may see it: one `activelock` per lock, its timeout the time remaining, its
/// token only where [`may_see_token`] allows, its owner only where `disclosure` does
/// ([`Disclosure::shows_owner`]). The element declares the `D` prefix for `DAV:`
/// itself, so it is well-formed in any document.
///
/// # Examples
///
/// ```
/// # use lockwarden::*;
/// use lockwarden::http::{Disclosure, write_lockdiscovery};
/// let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
/// table.seed_tokens([7; 16]);
/// let p = Path::new("/config").unwrap();
/// table.lock(Instant(0), &LockRequest::exclusive(&p, "alice &amp; co").principal("alice")).unwrap();
/// let mut xml = String::new();
/// write_lockdiscovery(&mut xml, table.locks_covering(Instant(500), &p), 1000, Some("bob"), Disclosure::default()).unwrap();
/// assert!(xml.contains("<D:owner>alice &amp; co</D:owner>"));
/// assert!(xml.contains("<D:timeout>Second-180</D:timeout>"));
/// assert!(!xml.contains("urn:uuid"));
/// let mut hidden = String::new();
/// write_lockdiscovery(&mut hidden, table.locks(Instant(500)), 1000, Some("bob"), Disclosure { owner: false }).unwrap();
/// assert!(!hidden.contains("owner"));
/// ```
#[cfg(feature = "http-full")]
pub fn write_lockdiscovery<'t, const P: usize>(
    w: &mut impl Write,
    locks: impl IntoIterator<Item = ActiveLock<'t, P>>,
    tick_hz: u32,
    viewer: Option<&str>,
    disclosure: Disclosure,
) -> fmt::Result {
    // Declares its prefix so that it is well-formed wherever it is embedded.
    w.write_str("<D:lockdiscovery xmlns:D=\"DAV:\">")?;
    for lock in locks {
        activelock(
            w,
            &ActiveLockXml {
                root: lock.root.as_str(),
                scope: lock.scope,
                depth: lock.depth,
                owner: match disclosure.shows_owner(lock.principal, viewer) {
                    true => lock.owner,
                    false => "",
                },
                expires: Expiry::from_timeout(lock.remaining, tick_hz),
                token: may_see_token(&lock, viewer).then_some(lock.token),
            },
        )?;
    }
    w.write_str("</D:lockdiscovery>")
}

/// The timeout as a `Timeout` response value, `Second-N` or `Infinite` (RFC 4918 §10.7).
///
/// # Examples
///
/// ```
/// use lockwarden::{Duration, Timeout};
/// use lockwarden::http::TimeoutValue;
/// assert_eq!(TimeoutValue(Timeout::Finite(Duration(1500)), 1000).to_string(), "Second-2");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutValue(pub Timeout, pub u32);

impl fmt::Display for TimeoutValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Expiry::from_timeout(self.0, self.1) {
            Expiry::InSeconds(s) => {
                f.write_str("Second-")?;
                decimal(f, s as usize)
            }
            Expiry::Never => f.write_str("Infinite"),
        }
    }
}
