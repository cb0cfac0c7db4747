//! The small WebDAV request headers: `Depth` (RFC 4918 §10.2), `Lock-Token` (§10.5),
//! `Overwrite` (§10.6), `Timeout` (§10.7) and `Destination` (§10.3).
//!
//! Every parser is total: any bytes give a value or an error that names the header.
//! ABNF string literals are case-insensitive (RFC 5234 §2.3), so `infinity`,
//! `Second-` and `Infinite` are matched without regard to case. Optional whitespace
//! (RFC 9110 §5.6.3) around a value is ignored.

use core::fmt;

use crate::lock::Depth;
use crate::tick::{Duration, Timeout};
use crate::token::LockToken;

/// Space and horizontal tab, the optional whitespace of RFC 9110 §5.6.3.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without leading and trailing optional whitespace.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or(&[])
}

/// The value of a `Depth` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DepthHeader {
    /// `0`: the resource only.
    Zero,
    /// `1`: the resource and its immediate members (PROPFIND, not LOCK).
    One,
    /// `infinity`: the resource and everything below it.
    Infinity,
}

/// Why a `Depth` header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DepthError {
    /// The value is none of `0`, `1` and `infinity`.
    Invalid,
    /// `Depth: 1` on a method where only `0` and `infinity` mean something (LOCK,
    /// RFC 4918 §9.10.3).
    OneNotAllowed,
}

impl fmt::Display for DepthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl DepthError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        match self {
            DepthError::Invalid => "Depth header: the value must be 0, 1 or infinity",
            DepthError::OneNotAllowed => "Depth header: a lock has depth 0 or infinity, not 1",
        }
    }
}

impl core::error::Error for DepthError {}

impl DepthHeader {
    /// Parses a `Depth` header value.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{DepthError, DepthHeader};
    /// assert_eq!(DepthHeader::parse(b"Infinity"), Ok(DepthHeader::Infinity));
    /// assert_eq!(DepthHeader::parse(b" 0 "), Ok(DepthHeader::Zero));
    /// assert_eq!(DepthHeader::parse(b"2"), Err(DepthError::Invalid));
    /// ```
    #[inline(never)]
    pub fn parse(value: &[u8]) -> Result<Self, DepthError> {
        match trim_ows(value) {
            b"0" => Ok(DepthHeader::Zero),
            b"1" => Ok(DepthHeader::One),
            v if v.eq_ignore_ascii_case(b"infinity") => Ok(DepthHeader::Infinity),
            _ => Err(DepthError::Invalid),
        }
    }

    /// The depth of a lock: `0` or `infinity`; `1` is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Depth;
    /// use lockwarden::http::{DepthError, DepthHeader};
    /// assert_eq!(DepthHeader::Zero.lock_depth(), Ok(Depth::Zero));
    /// assert_eq!(DepthHeader::One.lock_depth(), Err(DepthError::OneNotAllowed));
    /// ```
    pub const fn lock_depth(self) -> Result<Depth, DepthError> {
        match self {
            DepthHeader::Zero => Ok(Depth::Zero),
            DepthHeader::One => Err(DepthError::OneNotAllowed),
            DepthHeader::Infinity => Ok(Depth::Infinity),
        }
    }
}

/// Why a `Lock-Token` header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LockTokenError {
    /// The value is not a Coded-URL, `<` absolute-URI `>`.
    NotCodedUrl,
    /// Between the angle brackets there is no absolute URI (`scheme:` and visible
    /// ASCII without spaces or angle brackets).
    NotAbsoluteUri,
}

impl fmt::Display for LockTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl LockTokenError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        match self {
            LockTokenError::NotCodedUrl => "Lock-Token header: the value must be <token-URI>",
            LockTokenError::NotAbsoluteUri => "Lock-Token header: the token is not an absolute URI",
        }
    }
}

impl core::error::Error for LockTokenError {}

/// Whether `uri` looks like an absolute URI (RFC 3986 §4.3): a scheme, `:`, and
/// visible ASCII other than `<`, `>` and `"` (which end or quote a Coded-URL).
pub(crate) fn is_absolute_uri(uri: &[u8]) -> bool {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = uri.get(..colon).unwrap_or(&[]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok
        && uri
            .iter()
            .all(|&b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'))
}

/// The URI inside a `Lock-Token` header: `Lock-Token: <urn:uuid:…>`.
///
/// A well-formed URI that is not one of this server's tokens is not a syntax error: it
/// names no lock, which `UNLOCK` answers with 409 (RFC 4918 §9.11.1).
///
/// # Examples
///
/// ```
/// use lockwarden::http::{parse_lock_token, LockTokenError};
/// let uri = parse_lock_token(b"<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>").unwrap();
/// assert_eq!(uri, "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b");
/// assert_eq!(parse_lock_token(b"urn:uuid:x"), Err(LockTokenError::NotCodedUrl));
/// assert_eq!(parse_lock_token(b"<no scheme>"), Err(LockTokenError::NotAbsoluteUri));
/// ```
#[inline(never)]
pub fn parse_lock_token(value: &[u8]) -> Result<&str, LockTokenError> {
    let inner = match trim_ows(value) {
        [b'<', inner @ .., b'>'] => inner,
        _ => return Err(LockTokenError::NotCodedUrl),
    };
    if !is_absolute_uri(inner) {
        return Err(LockTokenError::NotAbsoluteUri);
    }
    // Checked above to be ASCII.
    core::str::from_utf8(inner).map_err(|_| LockTokenError::NotAbsoluteUri)
}

/// The token that a `Lock-Token` URI names, if it is one of the `urn:uuid:` tokens this
/// server issues.
///
/// # Examples
///
/// ```
/// use lockwarden::http::lock_token_of;
/// assert!(lock_token_of("urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b").is_some());
/// assert!(lock_token_of("opaquelocktoken:abc").is_none());
/// ```
pub fn lock_token_of(uri: &str) -> Option<LockToken> {
    LockToken::parse(uri).ok()
}

/// One choice of a `Timeout` header (RFC 4918 §10.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeType {
    /// `Second-N`, clamped to 2³² − 1 seconds (the largest value §10.7 allows).
    Seconds(u32),
    /// `Infinite`.
    Infinite,
}

impl TimeType {
    /// This choice in ticks at `tick_hz` ticks per second, saturating.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Duration, Timeout};
    /// use lockwarden::http::TimeType;
    /// assert_eq!(TimeType::Seconds(60).to_timeout(1000), Timeout::Finite(Duration(60_000)));
    /// assert_eq!(TimeType::Seconds(u32::MAX).to_timeout(1000), Timeout::Finite(Duration(u32::MAX)));
    /// ```
    pub const fn to_timeout(self, tick_hz: u32) -> Timeout {
        match self {
            TimeType::Seconds(s) => Timeout::Finite(Duration::from_secs(s as u64, tick_hz)),
            TimeType::Infinite => Timeout::Infinite,
        }
    }
}

/// Why a `Timeout` header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TimeoutError {
    /// The header has no choice at all.
    Empty,
    /// `Second-` is not followed by decimal digits only.
    BadSeconds,
    /// A choice is neither `Second-N` nor `Infinite` nor an extension token.
    Malformed,
    /// Every choice is an extension this server does not know.
    NoUsableChoice,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl TimeoutError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        match self {
            TimeoutError::Empty => "Timeout header: no timeout given",
            TimeoutError::BadSeconds => "Timeout header: Second- must be followed by digits",
            TimeoutError::Malformed => "Timeout header: a choice is not Second-N or Infinite",
            TimeoutError::NoUsableChoice => {
                "Timeout header: none of the choices is Second-N or Infinite"
            }
        }
    }
}

impl core::error::Error for TimeoutError {}

/// Parses a `Timeout` header and returns its first usable choice.
///
/// The header is a comma-separated list (`Second-60, Infinite`); the whole list is
/// checked, and the first `Second-N` or `Infinite` is taken. Other tokens are
/// extensions and are skipped (§10.7 lets the server pick); anything that is not a
/// token is an error. `N` may have any number of digits: it is clamped, never wrapped.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{parse_timeout, TimeType, TimeoutError};
/// assert_eq!(parse_timeout(b"Infinite, Second-4100000000"), Ok(TimeType::Infinite));
/// assert_eq!(parse_timeout(b"Extension-1, second-99999999999999999999"), Ok(TimeType::Seconds(u32::MAX)));
/// assert_eq!(parse_timeout(b"Second-"), Err(TimeoutError::BadSeconds));
/// ```
#[inline(never)]
pub fn parse_timeout(value: &[u8]) -> Result<TimeType, TimeoutError> {
    let mut first = None;
    let mut any = false;
    for element in value.split(|&b| b == b',') {
        let element = trim_ows(element);
        // Empty list elements are allowed and ignored (RFC 9110 §5.6.1.2).
        if element.is_empty() {
            continue;
        }
        any = true;
        let choice = time_type(element)?;
        if first.is_none() {
            first = choice;
        }
    }
    match (first, any) {
        (Some(t), _) => Ok(t),
        (None, false) => Err(TimeoutError::Empty),
        (None, true) => Err(TimeoutError::NoUsableChoice),
    }
}

/// One list element: `Some` for a known choice, `None` for an extension token.
fn time_type(element: &[u8]) -> Result<Option<TimeType>, TimeoutError> {
    const SECOND: &[u8] = b"second-";
    if element.eq_ignore_ascii_case(b"infinite") {
        return Ok(Some(TimeType::Infinite));
    }
    if let Some(prefix) = element.get(..SECOND.len())
        && prefix.eq_ignore_ascii_case(SECOND)
    {
        let digits = element.get(SECOND.len()..).unwrap_or(&[]);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(TimeoutError::BadSeconds);
        }
        let secs = digits.iter().fold(0u32, |n, &d| {
            n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        });
        return Ok(Some(TimeType::Seconds(secs)));
    }
    if element.iter().all(|&b| is_tchar(b)) {
        Ok(None)
    } else {
        Err(TimeoutError::Malformed)
    }
}

/// A token character (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Why an `Overwrite` header is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OverwriteError {
    /// The value is neither `T` nor `F`.
    Invalid,
}

impl fmt::Display for OverwriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Overwrite header: the value must be T or F")
    }
}

impl core::error::Error for OverwriteError {}

/// Parses an `Overwrite` header: `T` (the default) or `F` (RFC 4918 §10.6).
///
/// # Examples
///
/// ```
/// use lockwarden::http::parse_overwrite;
/// assert_eq!(parse_overwrite(b"F"), Ok(false));
/// assert!(parse_overwrite(b"yes").is_err());
/// ```
pub fn parse_overwrite(value: &[u8]) -> Result<bool, OverwriteError> {
    match trim_ows(value) {
        b"T" | b"t" => Ok(true),
        b"F" | b"f" => Ok(false),
        _ => Err(OverwriteError::Invalid),
    }
}

/// Why a `Destination` header (or an `If` resource tag) names no path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DestinationError {
    /// Neither an absolute URI with an authority nor an absolute path.
    NotAbsolute,
}

impl fmt::Display for DestinationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl DestinationError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        "Destination header: the value must be an absolute URI or an absolute path"
    }
}

impl core::error::Error for DestinationError {}

/// The raw path of an absolute URI or absolute path (`http://host/a/b?q` → `/a/b`):
/// the scheme and authority are stripped, the query and fragment dropped. The result
/// still needs [`Path::new`](crate::Path::new) to become canonical. Which host the URI
/// names is not checked here.
///
/// # Examples
///
/// ```
/// use lockwarden::http::uri_path_of;
/// assert_eq!(uri_path_of(b"http://device.local:8080/config/wifi?x#y"), Ok("/config/wifi"));
/// assert_eq!(uri_path_of(b"https://device.local"), Ok("/"));
/// assert_eq!(uri_path_of(b"/config"), Ok("/config"));
/// assert!(uri_path_of(b"config").is_err());
/// ```
#[inline(never)]
pub fn uri_path_of(value: &[u8]) -> Result<&str, DestinationError> {
    let value = trim_ows(value);
    let path = if value.first() == Some(&b'/') {
        if value.get(1) == Some(&b'/') {
            // `//authority/path`, a network-path reference.
            authority_and_path(value.get(2..).unwrap_or(&[]))
        } else {
            value
        }
    } else {
        let colon = value
            .iter()
            .position(|&b| b == b':')
            .ok_or(DestinationError::NotAbsolute)?;
        let scheme = value.get(..colon).unwrap_or(&[]);
        let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        let rest = value.get(colon + 1..).unwrap_or(&[]);
        match rest {
            [b'/', b'/', after @ ..] if scheme_ok => authority_and_path(after),
            _ => return Err(DestinationError::NotAbsolute),
        }
    };
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let path = path.get(..end).unwrap_or(&[]);
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    core::str::from_utf8(path).map_err(|_| DestinationError::NotAbsolute)
}

/// The path after an authority: everything from the first `/`, `?` or `#`.
fn authority_and_path(after_slashes: &[u8]) -> &[u8] {
    let start = after_slashes
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after_slashes.len());
    after_slashes.get(start..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_zero_one_or_infinity_in_any_case() {
        assert_eq!(DepthHeader::parse(b"0"), Ok(DepthHeader::Zero));
        assert_eq!(DepthHeader::parse(b"1"), Ok(DepthHeader::One));
        assert_eq!(DepthHeader::parse(b"infinity"), Ok(DepthHeader::Infinity));
        assert_eq!(DepthHeader::parse(b"INFINITY"), Ok(DepthHeader::Infinity));
        assert_eq!(
            DepthHeader::parse(b"\tinfinity "),
            Ok(DepthHeader::Infinity)
        );
        for bad in [
            &b""[..],
            b"00",
            b"-1",
            b"inf",
            b"infinity,0",
            b"0 1",
            b"\xff",
        ] {
            assert_eq!(DepthHeader::parse(bad), Err(DepthError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn a_lock_depth_is_zero_or_infinity() {
        assert_eq!(DepthHeader::Infinity.lock_depth(), Ok(Depth::Infinity));
        assert_eq!(
            DepthHeader::One.lock_depth(),
            Err(DepthError::OneNotAllowed)
        );
    }

    #[test]
    fn lock_token_is_a_coded_url() {
        assert_eq!(parse_lock_token(b" <urn:uuid:a> "), Ok("urn:uuid:a"));
        assert_eq!(
            parse_lock_token(b"<opaquelocktoken:x-y>"),
            Ok("opaquelocktoken:x-y")
        );
        assert_eq!(parse_lock_token(b"<>"), Err(LockTokenError::NotAbsoluteUri));
        assert_eq!(
            parse_lock_token(b"<urn:uuid:a b>"),
            Err(LockTokenError::NotAbsoluteUri)
        );
        assert_eq!(
            parse_lock_token(b"<:x>"),
            Err(LockTokenError::NotAbsoluteUri)
        );
        assert_eq!(
            parse_lock_token(b"<urn:<x>"),
            Err(LockTokenError::NotAbsoluteUri)
        );
        assert_eq!(
            parse_lock_token(b"<urn:uuid:a"),
            Err(LockTokenError::NotCodedUrl)
        );
        assert_eq!(parse_lock_token(b""), Err(LockTokenError::NotCodedUrl));
        assert_eq!(parse_lock_token(b"<"), Err(LockTokenError::NotCodedUrl));
        assert_eq!(
            parse_lock_token(b"<urn:\xc3\xa9>"),
            Err(LockTokenError::NotAbsoluteUri)
        );
    }

    #[test]
    fn timeout_takes_the_first_usable_choice() {
        assert_eq!(parse_timeout(b"Second-60"), Ok(TimeType::Seconds(60)));
        assert_eq!(
            parse_timeout(b"Infinite, Second-60"),
            Ok(TimeType::Infinite)
        );
        assert_eq!(
            parse_timeout(b"Second-5,Infinite"),
            Ok(TimeType::Seconds(5))
        );
        assert_eq!(parse_timeout(b"Foo, , Second-7"), Ok(TimeType::Seconds(7)));
        assert_eq!(parse_timeout(b"SECOND-0"), Ok(TimeType::Seconds(0)));
    }

    #[test]
    fn timeout_seconds_of_any_length_clamp_instead_of_wrapping() {
        assert_eq!(
            parse_timeout(b"Second-4294967295"),
            Ok(TimeType::Seconds(u32::MAX))
        );
        assert_eq!(
            parse_timeout(b"Second-4294967296"),
            Ok(TimeType::Seconds(u32::MAX))
        );
        let mut long = [b'9'; 300];
        long[..7].copy_from_slice(b"Second-");
        assert_eq!(parse_timeout(&long), Ok(TimeType::Seconds(u32::MAX)));
        assert_eq!(
            TimeType::Seconds(u32::MAX).to_timeout(u32::MAX),
            Timeout::Finite(Duration(u32::MAX))
        );
        assert_eq!(TimeType::Infinite.to_timeout(1000), Timeout::Infinite);
    }

    #[test]
    fn malformed_timeouts_are_errors() {
        assert_eq!(parse_timeout(b""), Err(TimeoutError::Empty));
        assert_eq!(parse_timeout(b" , "), Err(TimeoutError::Empty));
        assert_eq!(parse_timeout(b"Second-"), Err(TimeoutError::BadSeconds));
        assert_eq!(parse_timeout(b"Second--1"), Err(TimeoutError::BadSeconds));
        assert_eq!(parse_timeout(b"Second-1x"), Err(TimeoutError::BadSeconds));
        assert_eq!(
            parse_timeout(b"Infinite, Second-x"),
            Err(TimeoutError::BadSeconds)
        );
        assert_eq!(parse_timeout(b"Second 60"), Err(TimeoutError::Malformed));
        assert_eq!(parse_timeout(b"Forever"), Err(TimeoutError::NoUsableChoice));
    }

    #[test]
    fn overwrite_is_t_or_f() {
        assert_eq!(parse_overwrite(b"T"), Ok(true));
        assert_eq!(parse_overwrite(b" F "), Ok(false));
        assert_eq!(parse_overwrite(b"TF"), Err(OverwriteError::Invalid));
        assert_eq!(parse_overwrite(b""), Err(OverwriteError::Invalid));
    }

    #[test]
    fn destination_keeps_only_the_path_of_an_absolute_uri() {
        assert_eq!(uri_path_of(b"http://h/a/b"), Ok("/a/b"));
        assert_eq!(uri_path_of(b"http://user@h:1/a%20b?q=1"), Ok("/a%20b"));
        assert_eq!(uri_path_of(b"//h/a"), Ok("/a"));
        assert_eq!(uri_path_of(b"http://h?x"), Ok("/"));
        assert_eq!(uri_path_of(b"/a#frag"), Ok("/a"));
        assert_eq!(uri_path_of(b"urn:x"), Err(DestinationError::NotAbsolute));
        assert_eq!(
            uri_path_of(b"1http://h/a"),
            Err(DestinationError::NotAbsolute)
        );
        assert_eq!(uri_path_of(b""), Err(DestinationError::NotAbsolute));
    }
}
