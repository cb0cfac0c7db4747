//! Which body a refusal carries: problem+json or WebDAV XML (PROTOCOL.md, "The 423
//! response"). An explicit `Accept` decides; without one, or when it prefers neither,
//! WebDAV methods get XML and the others problem+json.

#[cfg(feature = "http-full")]
use super::headers::trim_ows;
use super::method::Method;

/// The format of an error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyFormat {
    /// `application/problem+json` (RFC 9457).
    ProblemJson,
    /// `application/xml` with a `DAV:error` body (RFC 4918 §16).
    DavXml,
}

impl BodyFormat {
    /// The `Content-Type` of a body in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            BodyFormat::ProblemJson => "application/problem+json",
            BodyFormat::DavXml => XML_CONTENT_TYPE,
        }
    }

    /// The format for a request's method and `Accept` header.
    ///
    /// Each format's quality is that of the most specific media range that matches it
    /// (RFC 9110 §12.5.1); `application/json` counts for problem+json and `text/xml`
    /// for XML. When neither format is named explicitly, or both have the same
    /// quality, the method decides.
    ///
    /// # Examples
    ///
    /// In the minimal profile (without feature `http-full`) every answer is problem+json.
    ///
    /// ```
    /// use lockwarden::http::{BodyFormat, Method};
    /// assert_eq!(BodyFormat::negotiate(Method::Put, None), BodyFormat::ProblemJson);
    /// assert_eq!(BodyFormat::negotiate(Method::Put, Some(b"*/*")), BodyFormat::ProblemJson);
    /// # #[cfg(feature = "http-full")] {
    /// // With `http-full`:
    /// assert_eq!(BodyFormat::negotiate(Method::Lock, None), BodyFormat::DavXml);
    /// assert_eq!(BodyFormat::negotiate(Method::Lock, Some(b"application/json")), BodyFormat::ProblemJson);
    /// assert_eq!(BodyFormat::negotiate(Method::Put, Some(b"text/xml, application/json;q=0.5")), BodyFormat::DavXml);
    /// # }
    /// ```
    #[inline(never)]
    pub fn negotiate(method: Method, accept: Option<&[u8]>) -> BodyFormat {
        #[cfg(feature = "http-full")]
        {
            let default = if method.is_webdav() {
                BodyFormat::DavXml
            } else {
                BodyFormat::ProblemJson
            };
            Self::negotiate_from(default, accept)
        }
        // The minimal profile writes problem+json only.
        #[cfg(not(feature = "http-full"))]
        {
            let _ = (method, accept);
            BodyFormat::ProblemJson
        }
    }

    /// The format the renderers write for `self`: itself, or problem+json in the
    /// minimal profile (without feature `http-full`), which has no XML bodies.
    pub(crate) const fn written(self) -> BodyFormat {
        if cfg!(feature = "http-full") {
            self
        } else {
            BodyFormat::ProblemJson
        }
    }

    /// The format an `Accept` header asks for, `default` when it names neither: for a
    /// server whose clients are all WebDAV clients (a WebDAV file server), whose default
    /// is XML for every method.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::BodyFormat;
    /// assert_eq!(BodyFormat::negotiate_from(BodyFormat::DavXml, None), BodyFormat::DavXml);
    /// assert_eq!(BodyFormat::negotiate_from(BodyFormat::DavXml, Some(b"application/problem+json")), BodyFormat::ProblemJson);
    /// ```
    #[cfg(feature = "http-full")]
    pub fn negotiate_from(default: BodyFormat, accept: Option<&[u8]>) -> BodyFormat {
        let Some(accept) = accept else {
            return default;
        };
        let json = quality(accept, &[b"application/problem+json", b"application/json"]);
        let xml = quality(accept, &[b"application/xml", b"text/xml"]);
        if !json.explicit && !xml.explicit {
            return default;
        }
        match json.q.cmp(&xml.q) {
            core::cmp::Ordering::Greater => BodyFormat::ProblemJson,
            core::cmp::Ordering::Less => BodyFormat::DavXml,
            core::cmp::Ordering::Equal => default,
        }
    }
}

/// `application/xml; charset="utf-8"`, the type of every XML body (RFC 4918 §8.2).
pub const XML_CONTENT_TYPE: &str = "application/xml; charset=\"utf-8\"";

#[cfg(feature = "http-full")]
#[derive(Clone, Copy)]
struct Quality {
    /// In thousandths.
    q: u16,
    /// Named by a full type, not only by a wildcard.
    explicit: bool,
}

/// The quality `accept` gives the best of `types`.
#[cfg(feature = "http-full")]
fn quality(accept: &[u8], types: &[&[u8]]) -> Quality {
    let mut best = Quality {
        q: 0,
        explicit: false,
    };
    for &media in types {
        let (slash_type, _) = split_type(media);
        // Specificity: 2 for type/subtype, 1 for type/*, 0 for */*.
        let mut found: Option<(u8, u16)> = None;
        for range in accept.split(|&b| b == b',') {
            let mut parts = range.split(|&b| b == b';');
            let name = trim_ows(parts.next().unwrap_or(&[]));
            let specificity = if name.eq_ignore_ascii_case(media) {
                2
            } else if name.len() == slash_type.len() + 1
                && name
                    .get(..slash_type.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(slash_type))
                && name.last() == Some(&b'*')
            {
                1
            } else if name == b"*/*" {
                0
            } else {
                continue;
            };
            let q = parts.find_map(q_param).unwrap_or(1000);
            if found.is_none_or(|(s, _)| specificity > s) {
                found = Some((specificity, q));
            }
        }
        if let Some((specificity, q)) = found {
            let explicit = specificity == 2;
            if q > best.q || (q == best.q && explicit) {
                best = Quality {
                    q,
                    explicit: explicit || best.explicit,
                };
            } else {
                best.explicit |= explicit;
            }
        }
    }
    best
}

/// `application/xml` → `application/`.
#[cfg(feature = "http-full")]
fn split_type(media: &[u8]) -> (&[u8], &[u8]) {
    match media.iter().position(|&b| b == b'/') {
        Some(i) => (
            media.get(..=i).unwrap_or(&[]),
            media.get(i + 1..).unwrap_or(&[]),
        ),
        None => (media, &[]),
    }
}

/// The value of a `q=` parameter in thousandths (RFC 9110 §12.4.2), if this is one.
#[cfg(feature = "http-full")]
fn q_param(param: &[u8]) -> Option<u16> {
    let param = trim_ows(param);
    let value = match param {
        [q, b'=', value @ ..] if q.eq_ignore_ascii_case(&b'q') => value,
        _ => return None,
    };
    let (int, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (
            value.get(..dot).unwrap_or(&[]),
            value.get(dot + 1..).unwrap_or(&[]),
        ),
        None => (value, &[][..]),
    };
    // A malformed weight counts as 1, what a missing one means.
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return Some(1000);
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        let digit = frac.get(i).map_or(0, |d| u16::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match int {
        b"0" => Some(thousandths),
        b"1" => Some(1000),
        _ => Some(1000),
    }
}

#[cfg(feature = "http-full")]
#[cfg(test)]
mod tests {
    use super::*;

    fn pick(method: Method, accept: &str) -> BodyFormat {
        BodyFormat::negotiate(method, Some(accept.as_bytes()))
    }

    #[test]
    fn without_accept_webdav_methods_get_xml_and_others_json() {
        for m in [
            Method::Lock,
            Method::Unlock,
            Method::Propfind,
            Method::Proppatch,
            Method::Mkcol,
            Method::Copy,
            Method::Move,
        ] {
            assert_eq!(BodyFormat::negotiate(m, None), BodyFormat::DavXml, "{m}");
        }
        for m in [
            Method::Put,
            Method::Delete,
            Method::Post,
            Method::Patch,
            Method::Get,
            Method::Other,
        ] {
            assert_eq!(
                BodyFormat::negotiate(m, None),
                BodyFormat::ProblemJson,
                "{m}"
            );
        }
    }

    #[test]
    fn an_explicit_accept_decides() {
        assert_eq!(pick(Method::Put, "application/xml"), BodyFormat::DavXml);
        assert_eq!(
            pick(Method::Move, "application/problem+json"),
            BodyFormat::ProblemJson
        );
        assert_eq!(
            pick(Method::Move, "Application/JSON; charset=utf-8"),
            BodyFormat::ProblemJson
        );
        assert_eq!(
            pick(Method::Put, "application/json;q=0.2, text/xml;q=0.9"),
            BodyFormat::DavXml
        );
        assert_eq!(
            pick(Method::Put, "application/xml;q=0, */*"),
            BodyFormat::ProblemJson
        );
        assert_eq!(
            pick(Method::Lock, "application/json, */*;q=0.1"),
            BodyFormat::ProblemJson
        );
    }

    #[test]
    fn wildcards_alone_or_a_tie_leave_the_method_default() {
        assert_eq!(pick(Method::Lock, "*/*"), BodyFormat::DavXml);
        assert_eq!(
            pick(Method::Put, "text/html, application/*"),
            BodyFormat::ProblemJson
        );
        assert_eq!(
            pick(Method::Put, "application/json, application/xml"),
            BodyFormat::ProblemJson
        );
        assert_eq!(
            pick(Method::Lock, "application/json, application/xml"),
            BodyFormat::DavXml
        );
        assert_eq!(pick(Method::Lock, ""), BodyFormat::DavXml);
        assert_eq!(pick(Method::Lock, ";;,,q=2"), BodyFormat::DavXml);
    }

    #[test]
    fn quality_values_are_read_in_thousandths() {
        assert_eq!(q_param(b"q=0.5"), Some(500));
        assert_eq!(q_param(b" Q=0.125"), Some(125));
        assert_eq!(q_param(b"q=1.000"), Some(1000));
        assert_eq!(q_param(b"q=0"), Some(0));
        assert_eq!(q_param(b"q=0.x"), Some(1000));
        assert_eq!(q_param(b"level=1"), None);
    }
}
