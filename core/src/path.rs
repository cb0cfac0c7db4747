//! Resource names: one canonical form, and the ancestor relation between names.
//!
//! A lock protects a name, so every spelling of a name must reach the same lock. Raw
//! request paths are brought to one canonical form before the table sees them:
//!
//! - percent-escapes are decoded (RFC 3986 §2.1), including `%2F`, which then separates
//!   segments like `/` does: `/config%2Fnetwork` *is* `/config/network` here, so that
//!   no encoding steps around a lock;
//! - empty segments (`//`) and `.` segments are dropped, `..` removes the segment
//!   before it (RFC 3986 §5.2.4); a `..` above the root is refused, not clamped;
//! - a trailing slash is dropped: `/config/` and `/config` are one resource;
//! - the root is `/`.
//!
//! Refused: a path that does not start with `/`, a malformed escape, a control character
//! (raw or escaped, `%00` included), bytes that are not UTF-8 after decoding, and a
//! canonical form longer than the capacity `P` (segments are resolved as they are
//! read, so the part before a `..` must fit as well).

use core::fmt;

/// A canonical resource path of at most `P` bytes.
///
/// # Examples
///
/// ```
/// use lockwarden::Path;
/// let p: Path<64> = Path::new("/config//network/./wifi/").unwrap();
/// assert_eq!(p.as_str(), "/config/network/wifi");
/// assert_eq!(Path::<64>::new("/config/%6Eetwork").unwrap().as_str(), "/config/network");
/// ```
#[derive(Clone)]
pub struct Path<const P: usize = 64> {
    len: u16,
    /// The folded FNV-1a of the bytes (see [`fold`]), computed once: the lock table
    /// looks paths up by it.
    hash: u16,
    bytes: [u8; P],
}

/// Why a raw path has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// The canonical path is longer than the table can hold (HTTP 414).
    TooLong,
    /// A `%` is not followed by two hexadecimal digits.
    BadEscape,
    /// A control character, raw or percent-encoded.
    ControlCharacter,
    /// The decoded path is not UTF-8.
    NotUtf8,
    /// A `..` segment climbs above the root.
    AboveRoot,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl PathError {
    /// The sentence that `Display` writes.
    pub(crate) const fn message(&self) -> &'static str {
        match self {
            PathError::NotAbsolute => "the path must start with '/'",
            PathError::TooLong => "the path is longer than the lock table can hold",
            PathError::BadEscape => "a '%' in the path is not followed by two hexadecimal digits",
            PathError::ControlCharacter => "the path contains a control character",
            PathError::NotUtf8 => "the decoded path is not UTF-8",
            PathError::AboveRoot => "a '..' segment climbs above the root",
        }
    }
}

impl core::error::Error for PathError {}

impl<const P: usize> Path<P> {
    const CAPACITY_FITS: () = assert!(
        P >= 1 && P <= u16::MAX as usize,
        "a path capacity must be between 1 and 65535 bytes"
    );

    /// A path of no bytes, all zero: what an empty slot of a table holds, so that an
    /// empty table is all zeros. Never handed out.
    pub(crate) const fn zeroed() -> Self {
        let () = Self::CAPACITY_FITS;
        Path {
            len: 0,
            hash: 0,
            bytes: [0; P],
        }
    }

    /// The root, `/`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// assert_eq!(Path::<8>::root().as_str(), "/");
    /// ```
    pub const fn root() -> Self {
        let () = Self::CAPACITY_FITS;
        let mut bytes = [0u8; P];
        bytes[0] = b'/';
        Path {
            len: 1,
            hash: fold(fnv1a(FNV_OFFSET, b'/')),
            bytes,
        }
    }

    /// Brings a raw request path to its canonical form (see the [module](self) docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Path, PathError};
    /// assert_eq!(Path::<64>::new("/a/b/../c").unwrap().as_str(), "/a/c");
    /// assert_eq!(Path::<64>::new("a/b").unwrap_err(), PathError::NotAbsolute);
    /// assert_eq!(Path::<64>::new("/..").unwrap_err(), PathError::AboveRoot);
    /// assert_eq!(Path::<4>::new("/abcd").unwrap_err(), PathError::TooLong);
    /// ```
    pub fn new(raw: &str) -> Result<Self, PathError> {
        Self::from_bytes(raw.as_bytes())
    }

    /// As [`Path::new`], for a raw path that is not known to be UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{Path, PathError};
    /// assert_eq!(Path::<64>::from_bytes(b"/a/%ff").unwrap_err(), PathError::NotUtf8);
    /// ```
    pub fn from_bytes(raw: &[u8]) -> Result<Self, PathError> {
        let mut path = Self::root();
        if raw.first() != Some(&b'/') {
            return Err(PathError::NotAbsolute);
        }
        // `len` is the canonical output so far; it always ends at a segment boundary
        // while no segment is open. `seg` is where the open segment's bytes start.
        let mut len = 0usize;
        let mut seg = 0usize;
        let mut i = 0usize;
        let mut open = false;
        loop {
            let byte = match raw.get(i) {
                None => None,
                Some(b'%') => {
                    let hi = raw.get(i + 1).and_then(|c| hex(*c));
                    let lo = raw.get(i + 2).and_then(|c| hex(*c));
                    match (hi, lo) {
                        (Some(hi), Some(lo)) => {
                            i += 3;
                            Some((hi << 4) | lo)
                        }
                        _ => return Err(PathError::BadEscape),
                    }
                }
                Some(&c) => {
                    i += 1;
                    Some(c)
                }
            };
            match byte {
                Some(b'/') | None => {
                    if open {
                        let segment = &path.bytes[seg..len];
                        if segment == b"." {
                            len = seg - 1;
                        } else if segment == b".." {
                            // Drop "/..", then the segment before it.
                            len = seg - 1;
                            if len == 0 {
                                return Err(PathError::AboveRoot);
                            }
                            len = path.bytes[..len]
                                .iter()
                                .rposition(|&b| b == b'/')
                                .unwrap_or(0);
                        }
                        open = false;
                    }
                    if byte.is_none() {
                        break;
                    }
                }
                Some(c) if c < 0x20 || c == 0x7f => return Err(PathError::ControlCharacter),
                Some(c) => {
                    if !open {
                        // Start a segment: write its separator.
                        if len >= P {
                            return Err(PathError::TooLong);
                        }
                        path.bytes[len] = b'/';
                        len += 1;
                        seg = len;
                        open = true;
                    }
                    if len >= P {
                        return Err(PathError::TooLong);
                    }
                    path.bytes[len] = c;
                    len += 1;
                }
            }
        }
        if len == 0 {
            return Ok(Self::root());
        }
        if core::str::from_utf8(&path.bytes[..len]).is_err() {
            return Err(PathError::NotUtf8);
        }
        // `len <= P <= u16::MAX` by the capacity assertion.
        path.len = len as u16;
        path.hash = hash(path.as_bytes());
        Ok(path)
    }

    /// The canonical path as text.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// assert_eq!(Path::<16>::new("/x").unwrap().as_str(), "/x");
    /// ```
    pub fn as_str(&self) -> &str {
        // Checked to be UTF-8 when built; the fallback is never taken.
        core::str::from_utf8(self.as_bytes()).unwrap_or("/")
    }

    /// The canonical path as bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// assert_eq!(Path::<16>::new("/x/").unwrap().as_bytes(), b"/x");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether this is the root, `/`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// assert!(Path::<16>::new("/.").unwrap().is_root());
    /// ```
    pub fn is_root(&self) -> bool {
        self.len == 1
    }

    /// The parent collection, or `None` for the root.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// let p = Path::<16>::new("/a/b").unwrap();
    /// assert_eq!(p.parent().unwrap().as_str(), "/a");
    /// assert_eq!(p.parent().unwrap().parent().unwrap().as_str(), "/");
    /// assert!(Path::<16>::root().parent().is_none());
    /// ```
    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        let cut = self
            .as_bytes()
            .iter()
            .rposition(|&b| b == b'/')
            .unwrap_or(0);
        let mut parent = self.clone();
        parent.len = cut.max(1) as u16;
        parent.hash = hash(parent.as_bytes());
        Some(parent)
    }

    /// Whether `self` is `other` or one of its ancestors.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::Path;
    /// let a = Path::<16>::new("/a").unwrap();
    /// assert!(a.contains(&Path::new("/a/b").unwrap()));
    /// assert!(a.contains(&a));
    /// assert!(!a.contains(&Path::new("/ab").unwrap()));
    /// ```
    pub fn contains(&self, other: &Path<P>) -> bool {
        contains(self.as_bytes(), other.as_bytes())
    }

    /// The hash of the canonical bytes: FNV-1a, folded to 16 bits.
    #[inline]
    pub(crate) fn hash(&self) -> u16 {
        self.hash
    }
}

/// FNV-1a, 32 bits: paths are short and tables bounded, so a tiny hash will do. It is a
/// running hash, so its state at each `/` of a path is the hash of that ancestor; a path
/// keeps the state [`fold`]ed to 16 bits.
pub(crate) const FNV_OFFSET: u32 = 0x811c_9dc5;

/// The 16 bits a path keeps of an FNV-1a state: its high and low halves xored, so that
/// every bit of the state counts. The one place a state becomes a path's hash: the
/// table folds the running state at each `/` with it to find an ancestor's hash.
#[inline]
pub(crate) const fn fold(h: u32) -> u16 {
    (h ^ (h >> 16)) as u16
}

/// One step of FNV-1a.
#[inline]
pub(crate) const fn fnv1a(h: u32, b: u8) -> u32 {
    (h ^ b as u32).wrapping_mul(0x0100_0193)
}

/// The hash of `bytes`: FNV-1a, [`fold`]ed.
pub(crate) fn hash(bytes: &[u8]) -> u16 {
    fold(bytes.iter().fold(FNV_OFFSET, |h, &b| fnv1a(h, b)))
}

/// Whether canonical path `outer` is `inner` or one of its ancestors.
#[inline]
pub(crate) fn contains(outer: &[u8], inner: &[u8]) -> bool {
    outer == b"/"
        || (inner.starts_with(outer)
            && (inner.len() == outer.len() || inner.get(outer.len()) == Some(&b'/')))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl<const P: usize> PartialEq for Path<P> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.as_bytes() == other.as_bytes()
    }
}

impl<const P: usize> Eq for Path<P> {}

impl<const P: usize> fmt::Debug for Path<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({:?})", self.as_str())
    }
}

impl<const P: usize> fmt::Display for Path<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl<const P: usize> defmt::Format for Path<P> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> Result<&'static str, PathError> {
        Path::<64>::new(raw).map(|p| std_leak(p.as_str()))
    }

    fn std_leak(s: &str) -> &'static str {
        extern crate std;
        std::boxed::Box::leak(std::string::String::from(s).into_boxed_str())
    }

    #[test]
    fn every_alias_of_a_path_has_the_same_canonical_form() {
        for alias in [
            "/config/network",
            "/config/network/",
            "//config//network//",
            "/./config/./network/.",
            "/config/wifi/../network",
            "/config%2Fnetwork",
            "/config%2fnetwork",
            "/%63onfig/network",
            "/config/x/%2e%2e/network",
            "/config/network/%2E",
        ] {
            assert_eq!(canon(alias), Ok("/config/network"), "{alias}");
        }
    }

    #[test]
    fn the_root_has_many_spellings() {
        for alias in ["/", "//", "/.", "/a/..", "/./", "/%2F"] {
            assert_eq!(canon(alias), Ok("/"), "{alias}");
        }
    }

    #[test]
    fn malformed_paths_are_refused_with_the_reason() {
        assert_eq!(canon(""), Err(PathError::NotAbsolute));
        assert_eq!(canon("config"), Err(PathError::NotAbsolute));
        assert_eq!(canon("%2Fconfig"), Err(PathError::NotAbsolute));
        assert_eq!(canon("/a%"), Err(PathError::BadEscape));
        assert_eq!(canon("/a%4"), Err(PathError::BadEscape));
        assert_eq!(canon("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(canon("/a%00b"), Err(PathError::ControlCharacter));
        assert_eq!(canon("/a\nb"), Err(PathError::ControlCharacter));
        assert_eq!(canon("/a%7F"), Err(PathError::ControlCharacter));
        assert_eq!(canon("/a%C3"), Err(PathError::NotUtf8));
        assert_eq!(canon("/.."), Err(PathError::AboveRoot));
        assert_eq!(canon("/a/../.."), Err(PathError::AboveRoot));
    }

    #[test]
    fn dots_inside_a_name_are_just_characters() {
        assert_eq!(canon("/a/.b/..c/.../d."), Ok("/a/.b/..c/.../d."));
    }

    #[test]
    fn unicode_names_survive_decoding() {
        assert_eq!(canon("/caf%C3%A9"), Ok("/café"));
        assert_eq!(canon("/café"), Ok("/café"));
    }

    #[test]
    fn the_capacity_bounds_the_canonical_form_not_the_raw_one() {
        assert_eq!(Path::<4>::new("/abc").unwrap().as_str(), "/abc");
        assert_eq!(Path::<4>::new("/abcd"), Err(PathError::TooLong));
        assert_eq!(Path::<5>::new("/a/../abc/").unwrap().as_str(), "/abc");
        // `..` is resolved as it is read, so the path before it must fit too.
        assert_eq!(
            Path::<4>::new("/a/b/c/../../../abc"),
            Err(PathError::TooLong)
        );
        assert_eq!(Path::<1>::new("/a"), Err(PathError::TooLong));
        assert_eq!(Path::<1>::new("//").unwrap().as_str(), "/");
    }

    #[test]
    fn the_hash_of_an_ancestor_is_the_folded_running_state_at_its_slash() {
        let path = Path::<64>::new("/config/network/wifi").unwrap();
        assert_eq!(path.hash(), hash(b"/config/network/wifi"));
        assert_eq!(Path::<64>::root().hash(), hash(b"/"));
        let mut h = FNV_OFFSET;
        for (i, &b) in path.as_bytes().iter().enumerate() {
            if b == b'/' && i > 0 {
                let ancestor = path.as_bytes().get(..i).unwrap();
                assert_eq!(fold(h), hash(ancestor));
                assert_eq!(fold(h), Path::<64>::from_bytes(ancestor).unwrap().hash());
            }
            h = fnv1a(h, b);
        }
        assert_eq!(fold(h), path.hash());
        assert_eq!(path.parent().unwrap().hash(), hash(b"/config/network"));
    }

    #[test]
    fn containment_respects_segment_boundaries() {
        assert!(contains(b"/", b"/"));
        assert!(contains(b"/", b"/a"));
        assert!(contains(b"/a", b"/a/b/c"));
        assert!(!contains(b"/a", b"/ab"));
        assert!(!contains(b"/a/b", b"/a"));
    }
}

#[cfg(test)]
mod properties {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::String;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn any_bytes_give_a_canonical_path_or_an_error(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Path::<48>::from_bytes(&raw) {
                let s = p.as_str();
                prop_assert!(s.starts_with('/'));
                prop_assert!(s == "/" || !s.ends_with('/'));
                prop_assert!(!s.contains("//"));
                prop_assert!(s.split('/').all(|seg| seg != "." && seg != ".."));
                // Canonical means stable: a second pass changes nothing (but '%' now reads
                // as an escape, so only paths without it are compared).
                if !s.contains('%') {
                    prop_assert_eq!(Path::<48>::new(s).unwrap(), p);
                }
            }
        }

        #[test]
        fn percent_encoding_a_path_does_not_change_its_canonical_form(
            segs in proptest::collection::vec("[a-z.]{1,4}", 1..5),
        ) {
            let plain: String = segs.iter().map(|s| std::format!("/{s}")).collect();
            let encoded: String = plain.bytes().map(|b| std::format!("%{b:02X}")).collect();
            let encoded = std::format!("/{encoded}");
            prop_assert_eq!(Path::<64>::new(&plain), Path::<64>::new(&encoded));
        }

        #[test]
        fn any_text_parses_as_a_token_or_an_error(text in ".{0,60}") {
            let _ = crate::LockToken::parse(&text);
        }
    }
}
