//! The `If` request header (RFC 4918 §10.4): conditions on lock state and entity tags.
//!
//! ```text
//! If = "If" ":" ( 1*No-tag-list | 1*Tagged-list )
//! No-tag-list = List
//! Tagged-list = Resource-Tag 1*List
//! List = "(" 1*Condition ")"
//! Condition = ["Not"] (State-token | "[" entity-tag "]")
//! State-token = Coded-URL          ; "<" absolute-URI ">"
//! Resource-Tag = "<" Simple-ref ">" ; absolute-URI or absolute path
//! ```
//!
//! Parsing borrows the header: conditions keep slices of it. The parsed form is
//! bounded, [`MAX_LISTS`] lists and [`MAX_CONDITIONS`] conditions in all (about 700
//! bytes on a 32-bit target), each `<…>` at most [`MAX_CODED_URL`] bytes; a longer
//! header is refused with an error, never cut short, since dropping a list or condition
//! would change what the header means.

use core::fmt;

use crate::text::Text;

use heapless::Vec;

use super::headers::{is_absolute_uri, is_ows, uri_path_of};
use crate::path::{Path, PathError};
use crate::token::{LockToken, Tokens};

/// The most lists an `If` header may hold (tagged and untagged together).
pub const MAX_LISTS: usize = 16;
/// The most conditions an `If` header may hold, over all its lists.
pub const MAX_CONDITIONS: usize = 32;
/// The longest state token or resource tag (the text between `<` and `>`), in bytes: a
/// lock token of this crate has 45, a URL of a long path percent-encoded fits.
pub const MAX_CODED_URL: usize = 2048;

/// An entity tag in an `If` condition, `[W/"opaque"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EntityTag<'a> {
    /// Whether the tag is weak (`W/`).
    pub weak: bool,
    /// The opaque tag without its quotes.
    pub opaque: &'a str,
}

impl<'a> EntityTag<'a> {
    /// Reads an entity tag as a server states it, `"x"` or `W/"x"` (RFC 9110 §8.8.3). A
    /// value without quotes is taken whole as the opaque tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::EntityTag;
    /// assert_eq!(EntityTag::from_header("W/\"v2\""), EntityTag { weak: true, opaque: "v2" });
    /// assert_eq!(EntityTag::from_header("v2"), EntityTag { weak: false, opaque: "v2" });
    /// ```
    pub fn from_header(value: &'a str) -> Self {
        let (weak, rest) = match value.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        match rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(opaque) => EntityTag { weak, opaque },
            None => EntityTag {
                weak: false,
                opaque: value,
            },
        }
    }

    /// The weak comparison of RFC 9110 §8.8.3.2: the opaque tags are equal, whatever
    /// their weakness. RFC 4918 §10.4.4 lets the server choose weak or strong; weak
    /// lets a client that only saw a weak tag still make its write conditional.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::EntityTag;
    /// assert!(EntityTag::from_header("W/\"1\"").weak_eq(&EntityTag::from_header("\"1\"")));
    /// ```
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

impl fmt::Display for EntityTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        write!(f, "\"{}\"", self.opaque)
    }
}

/// What a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Subject<'a> {
    /// A state token, the URI between `<` and `>` (a lock token, or `DAV:no-lock`,
    /// which matches no lock by design, RFC 4918 §10.4.8).
    StateToken(&'a str),
    /// An entity tag, between `[` and `]`.
    ETag(EntityTag<'a>),
}

/// One condition of a list: a subject, possibly negated with `Not`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Condition<'a> {
    /// Whether the condition is prefixed with `Not`.
    pub not: bool,
    /// The state token or entity tag tested.
    pub subject: Subject<'a>,
}

impl fmt::Display for Condition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not {
            f.write_str("Not ")?;
        }
        match self.subject {
            Subject::StateToken(uri) => write!(f, "<{uri}>"),
            Subject::ETag(tag) => write!(f, "[{tag}]"),
        }
    }
}

/// One list of an `If` header: conditions that must all hold, about the tagged
/// resource or, untagged, the request's resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List<'h, 'a> {
    /// The resource tag's text (an absolute URI or absolute path), `None` when the
    /// list is untagged.
    pub resource: Option<&'a str>,
    /// The conditions, AND-ed.
    pub conditions: &'h [Condition<'a>],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct ListSpan<'a> {
    resource: Option<&'a str>,
    start: u8,
    end: u8,
}

/// A parsed `If` header.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{IfHeader, Subject};
/// let h = IfHeader::parse(b"</config> (<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b> [\"v1\"]) (Not <DAV:no-lock>)").unwrap();
/// let lists: Vec<_> = h.lists().collect();
/// assert_eq!(lists.len(), 2);
/// assert_eq!(lists[1].resource, Some("/config"));
/// assert_eq!(lists[1].conditions[0].subject, Subject::StateToken("DAV:no-lock"));
/// assert!(lists[1].conditions[0].not);
/// assert_eq!(h.submitted_tokens().len(), 1);
/// // Printing gives a header that parses back to the same lists.
/// let printed = h.to_string();
/// assert_eq!(IfHeader::parse(printed.as_bytes()).unwrap(), h);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfHeader<'a> {
    lists: Vec<ListSpan<'a>, MAX_LISTS>,
    conditions: Vec<Condition<'a>, MAX_CONDITIONS>,
}

/// What is wrong in an `If` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IfErrorKind {
    /// The header is not UTF-8.
    NotUtf8,
    /// The header holds no list.
    Empty,
    /// A list, `(`, or a resource tag, `<`, was expected.
    ExpectedList,
    /// A resource tag is not followed by a list.
    TagWithoutList,
    /// Tagged and untagged lists are mixed (the grammar allows one kind or the other).
    MixedTagging,
    /// A list has no condition.
    EmptyList,
    /// A condition, `Not`, `<` or `[`, or the end of the list, `)`, was expected.
    ExpectedCondition,
    /// The header ends inside a list.
    UnclosedList,
    /// A `<` has no matching `>`.
    UnclosedCodedUrl,
    /// A state token or resource tag is longer than [`MAX_CODED_URL`].
    CodedUrlTooLong,
    /// A state token is not an absolute URI.
    BadStateToken,
    /// A resource tag is neither an absolute URI nor an absolute path.
    BadResourceTag,
    /// An entity tag is not `W/"…"` or `"…"` closed by `]`.
    BadEntityTag,
    /// More than [`MAX_LISTS`] lists.
    TooManyLists,
    /// More than [`MAX_CONDITIONS`] conditions.
    TooManyConditions,
    /// A resource tag names a path with no canonical form (found when evaluating).
    TagPath(PathError),
}

/// Why an `If` header was refused, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IfError {
    /// What is wrong.
    pub kind: IfErrorKind,
    /// The byte offset in the header value where it was found.
    pub at: usize,
}

impl fmt::Display for IfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl IfError {
    /// Writes the explanation that `Display` shows, without `core::fmt`'s machinery.
    pub(crate) fn write_text(&self, f: &mut dyn Text) -> fmt::Result {
        let number = |f: &mut dyn Text, n: usize| crate::http::write::decimal(f, n);
        f.write_str("If header: ")?;
        match self.kind {
            IfErrorKind::NotUtf8 => f.write_str("not UTF-8")?,
            IfErrorKind::Empty => f.write_str("no list of conditions")?,
            IfErrorKind::ExpectedList => f.write_str("expected '(' or a resource tag '<'")?,
            IfErrorKind::TagWithoutList => {
                f.write_str("a resource tag is not followed by a list")?
            }
            IfErrorKind::MixedTagging => f.write_str("tagged and untagged lists are mixed")?,
            IfErrorKind::EmptyList => f.write_str("a list has no condition")?,
            IfErrorKind::ExpectedCondition => f.write_str("expected Not, '<', '[' or ')'")?,
            IfErrorKind::UnclosedList => f.write_str("a list is not closed with ')'")?,
            IfErrorKind::UnclosedCodedUrl => f.write_str("a '<' is not closed with '>'")?,
            IfErrorKind::CodedUrlTooLong => {
                f.write_str("a '<…>' is longer than ")?;
                number(f, MAX_CODED_URL)?;
                f.write_str(" bytes")?
            }
            IfErrorKind::BadStateToken => f.write_str("a state token is not an absolute URI")?,
            IfErrorKind::BadResourceTag => {
                f.write_str("a resource tag is not an absolute URI or absolute path")?
            }
            IfErrorKind::BadEntityTag => {
                f.write_str("an entity tag is not [\"…\"] or [W/\"…\"]")?
            }
            IfErrorKind::TooManyLists => {
                f.write_str("more than ")?;
                number(f, MAX_LISTS)?;
                f.write_str(" lists")?
            }
            IfErrorKind::TooManyConditions => {
                f.write_str("more than ")?;
                number(f, MAX_CONDITIONS)?;
                f.write_str(" conditions")?
            }
            IfErrorKind::TagPath(e) => {
                f.write_str("a resource tag's path: ")?;
                f.write_str(e.message())?
            }
        }
        f.write_str(" (at byte ")?;
        number(f, self.at)?;
        f.write_str(")")
    }
}

impl core::error::Error for IfError {}

/// What `If` evaluation needs to know about resources: their locks and entity tags.
pub trait ResourceState<const P: usize> {
    /// Whether a live lock with `token` covers `path` (RFC 4918 §10.4.4: a lock state
    /// token matches if the resource is anywhere in the scope of the lock).
    fn has_lock(&self, path: &Path<P>, token: &LockToken) -> bool;
    /// The current entity tag of `path` as the server states it (`"x"` or `W/"x"`), or
    /// `None` when the resource does not exist or its tag is not known.
    fn etag(&self, path: &Path<P>) -> Option<&str>;
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.at += 1;
        }
    }

    fn error(&self, kind: IfErrorKind) -> IfError {
        IfError { kind, at: self.at }
    }

    /// The text between `<` (at the cursor) and the next `>`; the cursor moves past it.
    fn coded_url(&mut self) -> Result<&'a str, IfError> {
        let start = self.at + 1;
        let rest = self.text.as_bytes().get(start..).unwrap_or(&[]);
        let len = rest
            .iter()
            .position(|&b| b == b'>')
            .ok_or_else(|| self.error(IfErrorKind::UnclosedCodedUrl))?;
        if len > MAX_CODED_URL {
            return Err(self.error(IfErrorKind::CodedUrlTooLong));
        }
        // `<` and `>` are ASCII, so both ends are character boundaries.
        let inner = self
            .text
            .get(start..start + len)
            .ok_or_else(|| self.error(IfErrorKind::UnclosedCodedUrl))?;
        self.at = start + len + 1;
        Ok(inner)
    }

    /// `[W/"opaque"]` with the cursor at `[`.
    fn entity_tag(&mut self) -> Result<EntityTag<'a>, IfError> {
        let open = self.at;
        let bad = IfError {
            kind: IfErrorKind::BadEntityTag,
            at: open,
        };
        self.at += 1;
        self.skip_ows();
        let weak = self.text.as_bytes().get(self.at..self.at + 2) == Some(b"W/");
        if weak {
            self.at += 2;
        }
        if self.peek() != Some(b'"') {
            return Err(bad);
        }
        let start = self.at + 1;
        let rest = self.text.as_bytes().get(start..).unwrap_or(&[]);
        let len = rest.iter().position(|&b| b == b'"').ok_or(bad)?;
        let opaque = self.text.get(start..start + len).ok_or(bad)?;
        // etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3): no controls or spaces.
        if opaque.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad);
        }
        self.at = start + len + 1;
        self.skip_ows();
        if self.peek() != Some(b']') {
            return Err(bad);
        }
        self.at += 1;
        Ok(EntityTag { weak, opaque })
    }
}

impl<'a> IfHeader<'a> {
    /// Parses an `If` header value (total: any bytes give a header or an error).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::{IfErrorKind, IfHeader};
    /// assert!(IfHeader::parse(b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)").is_ok());
    /// assert_eq!(IfHeader::parse(b"(").unwrap_err().kind, IfErrorKind::UnclosedList);
    /// assert_eq!(IfHeader::parse(b"</a>").unwrap_err().kind, IfErrorKind::TagWithoutList);
    /// ```
    pub fn parse<T: AsRef<[u8]> + ?Sized>(value: &'a T) -> Result<Self, IfError> {
        let mut header = IfHeader::empty();
        header.parse_into(value.as_ref())?;
        Ok(header)
    }

    /// No lists: what [`IfHeader::parse_into`] fills.
    pub(crate) const fn empty() -> Self {
        IfHeader {
            lists: Vec::new(),
            conditions: Vec::new(),
        }
    }

    /// [`IfHeader::parse`] into `self`, in place: a header is large for a
    /// microcontroller's stack, and a returned one is moved at least once.
    pub(crate) fn parse_into(&mut self, value: &'a [u8]) -> Result<(), IfError> {
        self.lists.clear();
        self.conditions.clear();
        let (lists, conditions) = (&mut self.lists, &mut self.conditions);
        let mut resource = None;
        let mut start = 0;
        // Cannot fail: `scan` stops before either maximum is passed.
        scan(value, &mut |event| match event {
            Event::List(tag) => {
                resource = tag;
                start = conditions.len();
            }
            Event::Condition(c) => {
                let _ = conditions.push(c);
            }
            Event::EndOfList => {
                // Both fit in u8: MAX_CONDITIONS < 256.
                let _ = lists.push(ListSpan {
                    resource,
                    start: u8::try_from(start).unwrap_or(u8::MAX),
                    end: u8::try_from(conditions.len()).unwrap_or(u8::MAX),
                });
            }
        })
    }

    /// The lists, in header order.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::http::IfHeader;
    /// let h = IfHeader::parse("<http://dev/a> (<urn:x>) (Not <urn:y>)").unwrap();
    /// assert!(h.is_tagged());
    /// assert!(h.lists().all(|l| l.resource == Some("http://dev/a")));
    /// ```
    pub fn lists(&self) -> impl Iterator<Item = List<'_, 'a>> + '_ {
        self.lists.iter().map(|span| List {
            resource: span.resource,
            conditions: self
                .conditions
                .get(usize::from(span.start)..usize::from(span.end))
                .unwrap_or(&[]),
        })
    }

    /// Whether the lists carry resource tags.
    pub fn is_tagged(&self) -> bool {
        self.lists.first().is_some_and(|l| l.resource.is_some())
    }

    /// The lock tokens the header submits: every state token in it that is one of this
    /// server's `urn:uuid:` tokens, negated or not (RFC 4918 §10.4.1: naming a token in
    /// `If` is how a client submits it).
    #[inline(never)]
    pub fn submitted_tokens(&self) -> Vec<LockToken, MAX_CONDITIONS> {
        let mut tokens = Vec::new();
        self.submitted_tokens_into(&mut tokens);
        tokens
    }

    /// [`IfHeader::submitted_tokens`] into the caller's vector (emptied first), so that
    /// the list is not moved on the stack.
    pub(crate) fn submitted_tokens_into(&self, tokens: &mut Vec<LockToken, MAX_CONDITIONS>) {
        tokens.clear();
        for condition in &self.conditions {
            condition.submit(tokens);
        }
    }

    /// Evaluates the header (RFC 4918 §10.4.3): a list holds when all its conditions
    /// hold, the header when any list holds. Untagged lists test `request_path`, tagged
    /// lists the resource of their tag. A false header answers 412.
    ///
    /// An error means a resource tag names no canonical path.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockToken, Path};
    /// use lockwarden::http::{IfHeader, ResourceState};
    ///
    /// struct Unlocked;
    /// impl ResourceState<64> for Unlocked {
    ///     fn has_lock(&self, _: &Path<64>, _: &LockToken) -> bool { false }
    ///     fn etag(&self, _: &Path<64>) -> Option<&str> { Some("\"v1\"") }
    /// }
    /// let here = Path::<64>::new("/config").unwrap();
    /// let h = IfHeader::parse("([\"v1\"]) (Not <DAV:no-lock>)").unwrap();
    /// assert_eq!(h.evaluate(&here, &Unlocked), Ok(true));
    /// let h = IfHeader::parse("([\"v2\"])").unwrap();
    /// assert_eq!(h.evaluate(&here, &Unlocked), Ok(false));
    /// ```
    #[inline(never)]
    pub fn evaluate<const P: usize>(
        &self,
        request_path: &Path<P>,
        state: &impl ResourceState<P>,
    ) -> Result<bool, IfError> {
        let mut evaluation = Evaluation::new(request_path, state);
        for list in self.lists() {
            evaluation.on(Event::List(list.resource));
            for &condition in list.conditions {
                evaluation.on(Event::Condition(condition));
            }
            evaluation.on(Event::EndOfList);
        }
        evaluation.result()
    }
}

/// An `If` header evaluated from its [`Event`]s, in order (RFC 4918 §10.4.3): a list
/// holds when all its conditions hold, the header when any list holds; untagged lists
/// test the request's resource, tagged ones their tag's. The one evaluation, fed by a
/// stored [`IfHeader`] or by [`scan`] as the header is read.
pub(crate) struct Evaluation<'r, const P: usize, S: ?Sized> {
    request_path: &'r Path<P>,
    state: &'r S,
    /// `Ok(true)` once a list held, `Err` once a tag named no path (counted only when no
    /// earlier list held): either way, the rest is only read.
    decided: Result<bool, IfError>,
    /// The path of the current list's tag.
    tagged: Option<Path<P>>,
    /// Whether every condition of the current list held so far (false when it is not
    /// evaluated).
    list_holds: bool,
}

impl<'r, const P: usize, S: ResourceState<P> + ?Sized> Evaluation<'r, P, S> {
    pub(crate) fn new(request_path: &'r Path<P>, state: &'r S) -> Self {
        Evaluation {
            request_path,
            state,
            decided: Ok(false),
            tagged: None,
            list_holds: false,
        }
    }

    pub(crate) fn on(&mut self, event: Event<'_>) {
        match event {
            Event::List(tag) => {
                self.list_holds = self.decided == Ok(false);
                self.tagged = None;
                if let (true, Some(tag)) = (self.list_holds, tag) {
                    match tag_path::<P>(tag) {
                        Ok(path) => self.tagged = Some(path),
                        Err(e) => {
                            self.decided = Err(e);
                            self.list_holds = false;
                        }
                    }
                }
            }
            Event::Condition(condition) => {
                if self.list_holds {
                    let path = self.tagged.as_ref().unwrap_or(self.request_path);
                    self.list_holds = condition.holds(path, self.state);
                }
            }
            Event::EndOfList => {
                if self.list_holds {
                    self.decided = Ok(true);
                }
            }
        }
    }

    /// Whether the header holds, or the tag that names no path.
    pub(crate) fn result(self) -> Result<bool, IfError> {
        self.decided
    }
}

/// The canonical path a resource tag names.
pub(crate) fn tag_path<const P: usize>(tag: &str) -> Result<Path<P>, IfError> {
    let raw = uri_path_of(tag.as_bytes()).map_err(|_| IfError {
        kind: IfErrorKind::BadResourceTag,
        at: 0,
    })?;
    Path::new(raw).map_err(|e| IfError {
        kind: IfErrorKind::TagPath(e),
        at: 0,
    })
}

/// What [`scan`] meets in an `If` header, in order.
pub(crate) enum Event<'a> {
    /// A list begins; its resource tag, if the header is tagged.
    List(Option<&'a str>),
    /// A condition of the current list.
    Condition(Condition<'a>),
    /// The current list ends.
    EndOfList,
}

/// Reads an `If` header from start to end, calling `visit` with each list and
/// condition. The one parser: [`IfHeader::parse`] stores what it meets, and the check
/// evaluates it as it comes, so that no parsed header sits on a small stack. The whole
/// header is read before the result counts: an error anywhere refuses all of it.
#[inline(never)]
pub(crate) fn scan<'a>(value: &'a [u8], visit: &mut dyn FnMut(Event<'a>)) -> Result<(), IfError> {
    let text = core::str::from_utf8(value).map_err(|e| IfError {
        kind: IfErrorKind::NotUtf8,
        at: e.valid_up_to(),
    })?;
    let mut c = Cursor { text, at: 0 };
    // `None` until the first list or tag decides between the two forms.
    let mut tagged: Option<bool> = None;
    let mut resource: Option<&'a str> = None;
    let mut tag_has_list = true;
    let (mut lists, mut conditions) = (0, 0);
    loop {
        c.skip_ows();
        match c.peek() {
            None => break,
            Some(b'<') => {
                if tagged == Some(false) {
                    return Err(c.error(IfErrorKind::MixedTagging));
                }
                if !tag_has_list {
                    return Err(c.error(IfErrorKind::TagWithoutList));
                }
                let at = c.at;
                let tag = c.coded_url()?;
                let tag_ok = (tag.starts_with('/') || is_absolute_uri(tag.as_bytes()))
                    && tag.bytes().all(|b| b.is_ascii_graphic())
                    && uri_path_of(tag.as_bytes()).is_ok();
                if !tag_ok {
                    return Err(IfError {
                        kind: IfErrorKind::BadResourceTag,
                        at,
                    });
                }
                tagged = Some(true);
                resource = Some(tag);
                tag_has_list = false;
            }
            Some(b'(') => {
                if tagged.is_none() {
                    tagged = Some(false);
                }
                if lists == MAX_LISTS {
                    return Err(c.error(IfErrorKind::TooManyLists));
                }
                lists += 1;
                visit(Event::List(resource));
                list(&mut c, &mut conditions, visit)?;
                visit(Event::EndOfList);
                tag_has_list = true;
            }
            Some(_) => return Err(c.error(IfErrorKind::ExpectedList)),
        }
    }
    if !tag_has_list {
        return Err(c.error(IfErrorKind::TagWithoutList));
    }
    if lists == 0 {
        return Err(c.error(IfErrorKind::Empty));
    }
    Ok(())
}

/// One list, with the cursor at `(`; `conditions` counts the header's conditions.
fn list<'a>(
    c: &mut Cursor<'a>,
    conditions: &mut usize,
    visit: &mut dyn FnMut(Event<'a>),
) -> Result<(), IfError> {
    let open = c.at;
    c.at += 1;
    let mut empty = true;
    loop {
        c.skip_ows();
        let not = match c.text.as_bytes().get(c.at..c.at + 3) {
            Some(word) if word.eq_ignore_ascii_case(b"not") => {
                c.at += 3;
                c.skip_ows();
                true
            }
            _ => false,
        };
        let subject = match c.peek() {
            None => {
                return Err(IfError {
                    kind: IfErrorKind::UnclosedList,
                    at: open,
                });
            }
            Some(b')') if !not => {
                if empty {
                    return Err(c.error(IfErrorKind::EmptyList));
                }
                c.at += 1;
                return Ok(());
            }
            Some(b'<') => {
                let at = c.at;
                let uri = c.coded_url()?;
                if !is_absolute_uri(uri.as_bytes()) {
                    return Err(IfError {
                        kind: IfErrorKind::BadStateToken,
                        at,
                    });
                }
                Subject::StateToken(uri)
            }
            Some(b'[') => Subject::ETag(c.entity_tag()?),
            Some(_) => return Err(c.error(IfErrorKind::ExpectedCondition)),
        };
        if *conditions == MAX_CONDITIONS {
            return Err(c.error(IfErrorKind::TooManyConditions));
        }
        *conditions += 1;
        empty = false;
        visit(Event::Condition(Condition { not, subject }));
    }
}

/// The lock tokens an `If` header submits (RFC 4918 §10.4.1: naming a token, negated or
/// not, submits it), read from the header each time they are asked for: a copy would
/// take 16 bytes of a microcontroller's stack per token. Only for a header that
/// [`scan`] accepted.
#[derive(Clone, Copy)]
pub(crate) struct NamedTokens<'a>(pub(crate) Option<&'a [u8]>);

impl NamedTokens<'_> {
    /// Calls `f` with each of this server's tokens the header names, in order, until `f`
    /// returns true; whether it did.
    pub(crate) fn any(&self, f: &mut dyn FnMut(&LockToken) -> bool) -> bool {
        let Some(raw) = self.0 else {
            return false;
        };
        let mut found = false;
        // The header was scanned once already: an error here cannot happen, and would
        // only end the tokens early.
        let _ = scan(raw, &mut |event| {
            if let Event::Condition(Condition {
                subject: Subject::StateToken(uri),
                ..
            }) = event
                && !found
                && let Ok(token) = LockToken::parse(uri)
            {
                found = f(&token);
            }
        });
        found
    }
}

impl Tokens for NamedTokens<'_> {
    fn contains(&self, token: &LockToken) -> bool {
        self.any(&mut |named| named == token)
    }
}

impl Condition<'_> {
    /// Adds the lock token this condition names, if it is one of this server's and not
    /// there yet (RFC 4918 §10.4.1: naming a token in `If` submits it, negated or not).
    pub(crate) fn submit(&self, tokens: &mut Vec<LockToken, MAX_CONDITIONS>) {
        if let Subject::StateToken(uri) = self.subject
            && let Ok(token) = LockToken::parse(uri)
            && !tokens.contains(&token)
        {
            // Cannot fail: there are at most as many tokens as conditions.
            let _ = tokens.push(token);
        }
    }

    pub(crate) fn holds<const P: usize>(
        &self,
        path: &Path<P>,
        state: &(impl ResourceState<P> + ?Sized),
    ) -> bool {
        let matched = match self.subject {
            // A URI that is not one of our tokens (`DAV:no-lock` among them) matches
            // no lock.
            Subject::StateToken(uri) => {
                LockToken::parse(uri).is_ok_and(|token| state.has_lock(path, &token))
            }
            Subject::ETag(tag) => state
                .etag(path)
                .is_some_and(|current| EntityTag::from_header(current).weak_eq(&tag)),
        };
        matched != self.not
    }
}

/// Prints the header in a form that [`IfHeader::parse`] reads back to equal lists.
impl fmt::Display for IfHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, list) in self.lists().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Some(tag) = list.resource {
                write!(f, "<{tag}> ")?;
            }
            f.write_str("(")?;
            for (j, condition) in list.conditions.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{condition}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec as StdVec;

    const T1: &str = "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b";
    const T2: &str = "urn:uuid:00000000-0000-4000-8000-000000000002";

    fn conditions<'a>(h: &IfHeader<'a>) -> StdVec<(Option<&'a str>, StdVec<Condition<'a>>)> {
        h.lists()
            .map(|l| (l.resource, l.conditions.to_vec()))
            .collect()
    }

    fn token(uri: &str) -> Condition<'_> {
        Condition {
            not: false,
            subject: Subject::StateToken(uri),
        }
    }

    struct State {
        lock: (&'static str, LockToken),
        etag: Option<&'static str>,
    }

    impl ResourceState<64> for State {
        fn has_lock(&self, path: &Path<64>, token: &LockToken) -> bool {
            Path::<64>::new(self.lock.0).is_ok_and(|root| root.contains(path))
                && *token == self.lock.1
        }
        fn etag(&self, _: &Path<64>) -> Option<&str> {
            self.etag
        }
    }

    fn eval(header: &str, path: &str) -> Result<bool, IfError> {
        let state = State {
            lock: ("/config", LockToken::parse(T1).unwrap()),
            etag: Some("\"v1\""),
        };
        IfHeader::parse(header)?.evaluate(&Path::<64>::new(path).unwrap(), &state)
    }

    #[test]
    fn untagged_lists_hold_conditions_in_order() {
        let text = std::format!("(<{T1}> [\"a\"]) (Not <{T2}>)");
        let h = IfHeader::parse(&text).unwrap();
        let lists = conditions(&h);
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[0].0, None);
        assert_eq!(
            lists[0].1,
            [
                token(T1),
                Condition {
                    not: false,
                    subject: Subject::ETag(EntityTag {
                        weak: false,
                        opaque: "a"
                    })
                }
            ]
        );
        assert_eq!(
            lists[1].1,
            [Condition {
                not: true,
                subject: Subject::StateToken(T2)
            }]
        );
        assert!(!h.is_tagged());
    }

    #[test]
    fn a_resource_tag_applies_to_every_list_after_it() {
        let text = std::format!("<http://h/a> (<{T1}>) (<{T2}>) </b> (Not [W/\"x\"])");
        let h = IfHeader::parse(&text).unwrap();
        let lists = conditions(&h);
        assert_eq!(
            lists.iter().map(|l| l.0).collect::<StdVec<_>>(),
            [Some("http://h/a"), Some("http://h/a"), Some("/b")]
        );
        assert_eq!(
            lists[2].1,
            [Condition {
                not: true,
                subject: Subject::ETag(EntityTag {
                    weak: true,
                    opaque: "x"
                })
            }]
        );
        assert!(h.is_tagged());
    }

    #[test]
    fn whitespace_and_case_of_not_are_free() {
        let text = std::format!("  (  nOt   <{T1}>[ \"e\" ]  )\t(NOT<DAV:no-lock>)  ");
        let h = IfHeader::parse(&text).unwrap();
        let lists = conditions(&h);
        assert!(lists[0].1[0].not);
        assert_eq!(
            lists[1].1[0],
            Condition {
                not: true,
                subject: Subject::StateToken("DAV:no-lock")
            }
        );
    }

    #[test]
    fn an_entity_tag_may_contain_brackets_and_parentheses() {
        let h = IfHeader::parse(b"([\"a]b)c\"])").unwrap();
        assert_eq!(
            conditions(&h)[0].1[0].subject,
            Subject::ETag(EntityTag {
                weak: false,
                opaque: "a]b)c"
            })
        );
    }

    #[test]
    fn malformed_headers_name_what_is_wrong_and_where() {
        let cases: &[(&[u8], IfErrorKind, usize)] = &[
            (b"", IfErrorKind::Empty, 0),
            (b"   ", IfErrorKind::Empty, 3),
            (b"x", IfErrorKind::ExpectedList, 0),
            (b"()", IfErrorKind::EmptyList, 1),
            (b"(<urn:a>", IfErrorKind::UnclosedList, 0),
            (b"(<urn:a)", IfErrorKind::UnclosedCodedUrl, 1),
            (b"(<no-scheme>)", IfErrorKind::BadStateToken, 1),
            (b"(<urn:a b>)", IfErrorKind::BadStateToken, 1),
            (b"(x)", IfErrorKind::ExpectedCondition, 1),
            (b"(Not)", IfErrorKind::ExpectedCondition, 4),
            (b"(Not", IfErrorKind::UnclosedList, 0),
            (b"(Not )", IfErrorKind::ExpectedCondition, 5),
            (b"([a])", IfErrorKind::BadEntityTag, 1),
            (b"([\"a\")", IfErrorKind::BadEntityTag, 1),
            (b"([\"a b\"])", IfErrorKind::BadEntityTag, 1),
            (b"([\"a)", IfErrorKind::BadEntityTag, 1),
            (b"(<urn:a>) </b> (<urn:a>)", IfErrorKind::MixedTagging, 10),
            (
                b"</b> (<urn:a>) (<urn:a>) (<urn:a>) </c>",
                IfErrorKind::TagWithoutList,
                39,
            ),
            (b"</b> </c> (<urn:a>)", IfErrorKind::TagWithoutList, 5),
            (b"<b> (<urn:a>)", IfErrorKind::BadResourceTag, 0),
            (b"(<urn:a>) x", IfErrorKind::ExpectedList, 10),
            (b"(<urn:a>)\xff", IfErrorKind::NotUtf8, 9),
        ];
        for &(input, kind, at) in cases {
            assert_eq!(
                IfHeader::parse(input),
                Err(IfError { kind, at }),
                "{:?}",
                std::str::from_utf8(input)
            );
        }
    }

    #[test]
    fn a_state_token_longer_than_the_maximum_is_refused() {
        let fits = std::format!("(<urn:{}>)", "a".repeat(MAX_CODED_URL - 4));
        assert!(IfHeader::parse(&fits).is_ok());
        let over = std::format!("(<urn:{}>)", "a".repeat(MAX_CODED_URL - 3));
        assert_eq!(
            IfHeader::parse(&over),
            Err(IfError {
                kind: IfErrorKind::CodedUrlTooLong,
                at: 1
            })
        );
    }

    #[test]
    fn more_lists_or_conditions_than_the_maxima_are_refused_not_truncated() {
        let fits: std::string::String = (0..MAX_LISTS).map(|_| "(<urn:a>)").collect();
        assert_eq!(IfHeader::parse(&fits).unwrap().lists().count(), MAX_LISTS);
        let over = std::format!("{fits}(<urn:a>)");
        assert_eq!(
            IfHeader::parse(&over).unwrap_err().kind,
            IfErrorKind::TooManyLists
        );
        let fits = std::format!("({})", "<urn:a> ".repeat(MAX_CONDITIONS));
        assert_eq!(
            IfHeader::parse(&fits)
                .unwrap()
                .lists()
                .next()
                .unwrap()
                .conditions
                .len(),
            MAX_CONDITIONS
        );
        let over = std::format!("({})", "<urn:a> ".repeat(MAX_CONDITIONS + 1));
        assert_eq!(
            IfHeader::parse(&over).unwrap_err().kind,
            IfErrorKind::TooManyConditions
        );
    }

    #[test]
    fn submitted_tokens_are_every_server_token_named_once() {
        let text = std::format!("(<{T1}>) (Not <{T2}> <{T1}> <DAV:no-lock>)");
        let h = IfHeader::parse(&text).unwrap();
        let tokens = h.submitted_tokens();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0], LockToken::parse(T1).unwrap());
        assert_eq!(tokens[1], LockToken::parse(T2).unwrap());
    }

    #[test]
    fn lists_are_ored_and_conditions_anded() {
        assert_eq!(eval(&std::format!("(<{T1}>)"), "/config/wifi"), Ok(true));
        assert_eq!(eval(&std::format!("(<{T2}>)"), "/config"), Ok(false));
        assert_eq!(
            eval(&std::format!("(<{T2}>) (<{T1}>)"), "/config"),
            Ok(true)
        );
        assert_eq!(eval(&std::format!("(<{T1}> <{T2}>)"), "/config"), Ok(false));
        assert_eq!(
            eval(&std::format!("(<{T1}> [\"v1\"])"), "/config"),
            Ok(true)
        );
        assert_eq!(
            eval(&std::format!("(<{T1}> [\"v2\"])"), "/config"),
            Ok(false)
        );
    }

    #[test]
    fn not_negates_one_condition() {
        assert_eq!(eval("(Not <DAV:no-lock>)", "/x"), Ok(true));
        assert_eq!(eval("(<DAV:no-lock>)", "/x"), Ok(false));
        assert_eq!(eval(&std::format!("(Not <{T1}>)"), "/config"), Ok(false));
        assert_eq!(
            eval(&std::format!("(<{T1}> Not [\"v2\"])"), "/config"),
            Ok(true)
        );
    }

    #[test]
    fn a_state_token_matches_only_where_its_lock_reaches() {
        assert_eq!(eval(&std::format!("(<{T1}>)"), "/other"), Ok(false));
        assert_eq!(eval(&std::format!("(<{T1}>)"), "/configuration"), Ok(false));
    }

    #[test]
    fn entity_tags_use_the_weak_comparison() {
        assert_eq!(eval("([W/\"v1\"])", "/x"), Ok(true));
        assert_eq!(eval("([\"v1\"])", "/x"), Ok(true));
        assert_eq!(eval("([\"V1\"])", "/x"), Ok(false));
    }

    #[test]
    fn tagged_lists_test_the_tagged_resource() {
        // The request is outside the lock, but the tag names a resource inside it.
        assert_eq!(
            eval(&std::format!("<http://dev/config/x> (<{T1}>)"), "/other"),
            Ok(true)
        );
        assert_eq!(
            eval(&std::format!("</config/%78> (<{T1}>)"), "/other"),
            Ok(true)
        );
        assert_eq!(
            eval(&std::format!("</other> (<{T1}>)"), "/config"),
            Ok(false)
        );
        assert_eq!(
            eval(&std::format!("</a/../../b> (<{T1}>)"), "/config")
                .unwrap_err()
                .kind,
            IfErrorKind::TagPath(PathError::AboveRoot)
        );
    }

    #[test]
    fn printing_gives_back_the_same_header() {
        let text = std::format!("<http://h/a> (Not <{T1}> [W/\"x\"]) </b> ([\"y\"])");
        let h = IfHeader::parse(&text).unwrap();
        let printed = std::format!("{h}");
        assert_eq!(printed, text);
        assert_eq!(IfHeader::parse(&printed).unwrap(), h);
    }
}
