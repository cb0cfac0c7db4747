//! Request methods, and what each needs from the lock table (RFC 4918 §7, §9).

use core::fmt;

/// An HTTP request method, as far as locking cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// `GET`: a read.
    Get,
    /// `HEAD`: a read.
    Head,
    /// `OPTIONS`: a read.
    Options,
    /// `PROPFIND` (RFC 4918 §9.1): a read.
    Propfind,
    /// `REPORT` (RFC 3253), `SEARCH` (RFC 5323) and `TRACE`: reads.
    OtherRead,
    /// `PUT`: writes the resource; creates a member of the parent when it is new.
    Put,
    /// `POST`: treated like `PUT` (it changes the resource or adds to it).
    Post,
    /// `PATCH` (RFC 5789): treated like `PUT`.
    Patch,
    /// `DELETE` (RFC 4918 §9.6): removes the subtree and a member of the parent.
    Delete,
    /// `PROPPATCH` (RFC 4918 §9.2): writes the resource's properties.
    Proppatch,
    /// `MKCOL` (RFC 4918 §9.3): creates a member of the parent.
    Mkcol,
    /// `COPY` (RFC 4918 §9.8): writes the destination.
    Copy,
    /// `MOVE` (RFC 4918 §9.9): removes the source and writes the destination.
    Move,
    /// `LOCK` (RFC 4918 §9.10).
    Lock,
    /// `UNLOCK` (RFC 4918 §9.11).
    Unlock,
    /// Any other method. It may change the resource, so it is checked as a write to it.
    Other,
}

impl Method {
    /// The method named by a request line's token (case-sensitive, RFC 9110 §9.1).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Method;
    /// assert_eq!(Method::parse(b"PROPPATCH"), Method::Proppatch);
    /// assert_eq!(Method::parse(b"put"), Method::Other);
    /// ```
    pub fn parse(name: &[u8]) -> Method {
        // One comparison loop over the names `as_str` already holds, rather than a
        // decision tree per name: the smaller code on a microcontroller.
        const NAMED: [Method; 14] = [
            Method::Get,
            Method::Head,
            Method::Options,
            Method::Propfind,
            Method::Put,
            Method::Post,
            Method::Patch,
            Method::Delete,
            Method::Proppatch,
            Method::Mkcol,
            Method::Copy,
            Method::Move,
            Method::Lock,
            Method::Unlock,
        ];
        match NAMED.iter().find(|m| m.as_str().as_bytes() == name) {
            Some(&method) => method,
            None if matches!(name, b"REPORT" | b"SEARCH" | b"TRACE") => Method::OtherRead,
            None => Method::Other,
        }
    }

    /// The method's name (`REQUEST` for methods this crate does not name).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockwarden::http::Method::Mkcol.as_str(), "MKCOL");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Propfind => "PROPFIND",
            Method::OtherRead | Method::Other => "REQUEST",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Proppatch => "PROPPATCH",
            Method::Mkcol => "MKCOL",
            Method::Copy => "COPY",
            Method::Move => "MOVE",
            Method::Lock => "LOCK",
            Method::Unlock => "UNLOCK",
        }
    }

    /// Whether this is a WebDAV method, whose clients get XML error bodies unless their
    /// `Accept` says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Method;
    /// assert!(Method::Lock.is_webdav());
    /// assert!(!Method::Put.is_webdav());
    /// ```
    pub const fn is_webdav(self) -> bool {
        matches!(
            self,
            Method::Lock
                | Method::Unlock
                | Method::Propfind
                | Method::Proppatch
                | Method::Mkcol
                | Method::Copy
                | Method::Move
        )
    }

    /// Whether the method only reads, so no lock can block it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::Method;
    /// assert!(Method::Propfind.is_read());
    /// assert!(!Method::Other.is_read());
    /// ```
    pub const fn is_read(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Options | Method::Propfind | Method::OtherRead
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
