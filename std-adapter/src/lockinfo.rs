//! The body of a `LOCK` request: a `DAV:lockinfo` document (RFC 4918 §9.10, §14.11), or
//! nothing, which asks for a refresh (§9.10.2).
//!
//! The parser is quick-xml with the doors shut that XML leaves open: no DTD (so no entity
//! can be declared, and none is expanded: billion-laughs and external entities have
//! nothing to work with), only the five predefined entities and character references,
//! a bounded body size and nesting depth. The owner is kept verbatim, as the markup the
//! client sent (§14.17: the server must keep it and return it in `lockdiscovery`), with
//! the namespace declarations it relied on from its ancestors copied into it.

use std::fmt;

use lockwarden::Scope;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

/// The WebDAV namespace (RFC 4918 §21).
const DAV: &[u8] = b"DAV:";

/// What a `LOCK` body asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockBody {
    /// An empty body: refresh the lock named in the `If` header (RFC 4918 §9.10.2).
    Refresh,
    /// A `lockinfo` document: create a lock.
    Create(LockInfo),
}

/// A parsed `DAV:lockinfo` (RFC 4918 §14.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// From `DAV:lockscope`.
    pub scope: Scope,
    /// From `DAV:owner`, if present.
    pub owner: Option<Owner>,
}

/// The `DAV:owner` of a lock request (RFC 4918 §14.17): the one owner value the table
/// keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    /// The element's content as sent: text and markup, escapes untouched, surrounding
    /// whitespace trimmed, each top-level element given the declarations of the
    /// namespace prefixes it uses from outside the owner, so that it is well-formed on
    /// its own. This is what `lockdiscovery` gives back.
    pub markup: String,
}

impl Owner {
    /// An owner given as plain text (a JSON API, a form), kept as its XML escape.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden_std::lockinfo::Owner;
    /// let owner = Owner::from_text("Alice & Co");
    /// assert_eq!(owner.markup, "Alice &amp; Co");
    /// assert_eq!(owner.text(), "Alice & Co");
    /// ```
    pub fn from_text(text: &str) -> Self {
        Owner {
            markup: lockwarden::http::XmlText(text).to_string(),
        }
    }

    /// The plain text of the owner, for problem+json, lock lists and logs: the core's
    /// rendering of the same markup ([`OwnerText`](lockwarden::http::OwnerText)).
    pub fn text(&self) -> String {
        lockwarden::http::OwnerText(&self.markup).to_string()
    }
}

/// Bounds on a `lockinfo` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockInfoLimits {
    /// The largest body accepted, in bytes.
    pub max_bytes: usize,
    /// The deepest element nesting accepted (`lockinfo` is depth 1).
    pub max_depth: usize,
}

impl LockInfoLimits {
    /// 16 KiB and 16 levels: a lock request needs well under 1 KiB and 4 levels.
    pub const DEFAULT: LockInfoLimits = LockInfoLimits {
        max_bytes: 16 * 1024,
        max_depth: 16,
    };
}

impl Default for LockInfoLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a `LOCK` body was refused. Every variant answers 400 and says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockInfoError {
    /// The body is longer than [`LockInfoLimits::max_bytes`].
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Elements are nested deeper than [`LockInfoLimits::max_depth`].
    TooDeep {
        /// The element that went past the limit.
        element: String,
        /// The limit.
        limit: usize,
    },
    /// The body is not UTF-8, or declares another encoding.
    NotUtf8,
    /// The body carries a document type declaration (refused: it is how entities are
    /// declared).
    Doctype,
    /// A reference to an entity other than the five predefined ones.
    Entity {
        /// The entity's name.
        name: String,
    },
    /// The body is not well-formed XML.
    Malformed {
        /// Byte offset of the error.
        position: u64,
        /// What the parser found.
        message: String,
    },
    /// The document element is not `DAV:lockinfo`.
    NotLockInfo {
        /// The element found instead (or `nothing`).
        found: String,
    },
    /// A required element is missing.
    Missing {
        /// The missing element, e.g. `DAV:lockscope`.
        element: &'static str,
        /// The element it belongs in.
        parent: &'static str,
    },
    /// An element that may appear once appears again.
    Duplicate {
        /// The repeated element.
        element: &'static str,
    },
    /// `DAV:lockscope` names a scope other than `exclusive` or `shared`.
    UnknownLockScope {
        /// The element found in `DAV:lockscope`.
        element: String,
    },
    /// `DAV:locktype` names a lock type other than `write` (the only one RFC 4918 defines).
    UnsupportedLockType {
        /// The element found in `DAV:locktype`.
        element: String,
    },
}

impl fmt::Display for LockInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockInfoError::TooLarge { limit } => {
                write!(f, "the lockinfo body is longer than {limit} bytes")
            }
            LockInfoError::TooDeep { element, limit } => write!(
                f,
                "the lockinfo body nests elements deeper than {limit} levels at <{element}>"
            ),
            LockInfoError::NotUtf8 => f.write_str("the lockinfo body is not UTF-8"),
            LockInfoError::Doctype => f.write_str(
                "the lockinfo body has a DOCTYPE; document type declarations are refused",
            ),
            LockInfoError::Entity { name } => write!(
                f,
                "the lockinfo body references the entity &{name}; only &amp; &lt; &gt; &apos; &quot; and character references are allowed"
            ),
            LockInfoError::Malformed { position, message } => {
                write!(
                    f,
                    "the lockinfo body is not well-formed XML at byte {position}: {message}"
                )
            }
            LockInfoError::NotLockInfo { found } => {
                write!(
                    f,
                    "the LOCK body must be a DAV:lockinfo element, found {found}"
                )
            }
            LockInfoError::Missing { element, parent } => {
                write!(f, "the {parent} element has no {element}")
            }
            LockInfoError::Duplicate { element } => {
                write!(f, "the lockinfo body has more than one {element}")
            }
            LockInfoError::UnknownLockScope { element } => write!(
                f,
                "DAV:lockscope holds <{element}>; expected DAV:exclusive or DAV:shared"
            ),
            LockInfoError::UnsupportedLockType { element } => {
                write!(
                    f,
                    "DAV:locktype holds <{element}>; only DAV:write locks exist"
                )
            }
        }
    }
}

impl std::error::Error for LockInfoError {}

impl LockInfoError {
    /// The core's kind of this error, which decides the response (400, "Malformed lockinfo
    /// body") and its wording.
    pub fn kind(&self) -> lockwarden::http::LockInfoError {
        use lockwarden::http::LockInfoError as Kind;
        match self {
            LockInfoError::UnknownLockScope { .. } => Kind::LockScope,
            LockInfoError::UnsupportedLockType { .. } => Kind::LockType,
            LockInfoError::Missing { element, parent } => kind_of_element(&[element, parent]),
            LockInfoError::Duplicate { element } => kind_of_element(&[element]),
            _ => Kind::Malformed,
        }
    }
}

/// Parses a `LOCK` body with [`LockInfoLimits::DEFAULT`].
///
/// # Examples
///
/// ```
/// use lockwarden::Scope;
/// use lockwarden_std::lockinfo::{parse_lock_body, LockBody};
///
/// let body = br#"<?xml version="1.0" encoding="utf-8"?>
/// <D:lockinfo xmlns:D="DAV:">
///   <D:lockscope><D:exclusive/></D:lockscope>
///   <D:locktype><D:write/></D:locktype>
///   <D:owner><D:href>mailto:alice@example.com</D:href></D:owner>
/// </D:lockinfo>"#;
/// let LockBody::Create(info) = parse_lock_body(body).unwrap() else { panic!() };
/// assert_eq!(info.scope, Scope::Exclusive);
/// let owner = info.owner.unwrap();
/// // The prefix `D` was declared on `lockinfo`: the kept markup declares it itself.
/// assert_eq!(owner.markup, r#"<D:href xmlns:D="DAV:">mailto:alice@example.com</D:href>"#);
/// assert_eq!(owner.text(), "mailto:alice@example.com");
/// assert_eq!(parse_lock_body(b"").unwrap(), LockBody::Refresh);
/// ```
pub fn parse_lock_body(body: &[u8]) -> Result<LockBody, LockInfoError> {
    parse_lock_body_with(body, LockInfoLimits::DEFAULT)
}

/// Which element the parser is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    LockInfo,
    LockScope,
    LockType,
    Owner,
    /// Anything else: a scope or type value, owner content, an extension (RFC 4918 §17:
    /// unknown elements are ignored).
    Other,
}

/// Parses a `LOCK` body within `limits`.
pub fn parse_lock_body_with(
    body: &[u8],
    limits: LockInfoLimits,
) -> Result<LockBody, LockInfoError> {
    if body.len() > limits.max_bytes {
        return Err(LockInfoError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| LockInfoError::NotUtf8)?;
    if text.trim().is_empty() {
        return Ok(LockBody::Refresh);
    }

    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root_seen = false;
    let mut scope: Option<Scope> = None;
    let mut lockscope_seen = false;
    let mut locktype_seen = false;
    let mut write = false;
    let mut other_type: Option<String> = None;
    let mut owner: Option<Owner> = None;
    let mut owner_start = 0usize;
    // Namespace declarations of `lockinfo` and `owner`, which the owner's content may
    // rely on; and, per top-level element of that content, where to copy them.
    let mut outer: Vec<(Option<String>, String)> = Vec::new();
    let mut tops: Vec<TopElement> = Vec::new();

    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (is_dav(&ns), event),
            Err(e) => {
                return Err(LockInfoError::Malformed {
                    position: reader.error_position(),
                    message: e.to_string(),
                });
            }
        };
        let in_owner = stack.contains(&Frame::Owner);
        match event {
            Event::DocType(_) => return Err(LockInfoError::Doctype),
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if encoding != "utf-8" && encoding != "utf8" && encoding != "us-ascii" {
                        return Err(LockInfoError::NotUtf8);
                    }
                }
            }
            Event::Start(ref element) | Event::Empty(ref element) => {
                let empty = matches!(event, Event::Empty(_));
                check_attributes(element, before as u64)?;
                let local = element.local_name();
                let name = String::from_utf8_lossy(local.as_ref()).into_owned();
                if stack.len() >= limits.max_depth {
                    return Err(LockInfoError::TooDeep {
                        element: name,
                        limit: limits.max_depth,
                    });
                }
                if in_owner {
                    note_prefixes(element, before, &stack, &mut tops);
                }
                let frame = match (stack.last(), ns, local.as_ref()) {
                    (None, _, _) if root_seen => {
                        return Err(malformed(&reader, "content after the DAV:lockinfo element"));
                    }
                    (None, true, b"lockinfo") => {
                        root_seen = true;
                        Frame::LockInfo
                    }
                    (None, _, _) => {
                        return Err(LockInfoError::NotLockInfo {
                            found: format!("<{name}>"),
                        });
                    }
                    (Some(Frame::LockInfo), true, b"lockscope") => {
                        if lockscope_seen {
                            return Err(LockInfoError::Duplicate {
                                element: "DAV:lockscope",
                            });
                        }
                        lockscope_seen = true;
                        Frame::LockScope
                    }
                    (Some(Frame::LockInfo), true, b"locktype") => {
                        if locktype_seen {
                            return Err(LockInfoError::Duplicate {
                                element: "DAV:locktype",
                            });
                        }
                        locktype_seen = true;
                        Frame::LockType
                    }
                    (Some(Frame::LockInfo), true, b"owner") => {
                        if owner.is_some() {
                            return Err(LockInfoError::Duplicate {
                                element: "DAV:owner",
                            });
                        }
                        owner_start = usize::try_from(reader.buffer_position()).unwrap_or(0);
                        owner = Some(Owner::default());
                        Frame::Owner
                    }
                    (Some(Frame::LockScope), true, b"exclusive" | b"shared") => {
                        if scope.is_some() {
                            return Err(LockInfoError::Duplicate {
                                element: "DAV:lockscope value",
                            });
                        }
                        scope = Some(if local.as_ref() == b"exclusive" {
                            Scope::Exclusive
                        } else {
                            Scope::Shared
                        });
                        Frame::Other
                    }
                    (Some(Frame::LockScope), true, _) => {
                        return Err(LockInfoError::UnknownLockScope { element: name });
                    }
                    (Some(Frame::LockType), true, b"write") => {
                        write = true;
                        Frame::Other
                    }
                    (Some(Frame::LockType), true, _) => {
                        other_type.get_or_insert(name);
                        Frame::Other
                    }
                    _ => Frame::Other,
                };
                // The declarations in scope inside the owner: those of lockinfo, then of
                // owner itself (not of lockinfo's other children).
                if stack.is_empty() || frame == Frame::Owner {
                    note_declarations(element, &mut outer);
                }
                if !empty {
                    stack.push(frame);
                }
            }
            Event::End(_) => {
                if stack.pop() == Some(Frame::Owner) {
                    let markup = text.get(owner_start..before).unwrap_or_default();
                    owner = Some(Owner {
                        markup: self_contained(markup, owner_start, &tops, &outer),
                    });
                }
            }
            Event::Text(t) => {
                let content = t.decode().map_err(|e| malformed(&reader, &e.to_string()))?;
                if stack.is_empty() && !content.trim().is_empty() {
                    return Err(malformed(&reader, "text outside the DAV:lockinfo element"));
                }
            }
            Event::GeneralRef(reference) => {
                resolve_reference(&reference)?;
            }
            Event::CData(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }

    if let Some(open) = stack.last() {
        return Err(malformed(&reader, &format!("unclosed element ({open:?})")));
    }
    if !root_seen {
        return Err(LockInfoError::NotLockInfo {
            found: "nothing".into(),
        });
    }
    if !lockscope_seen {
        return Err(LockInfoError::Missing {
            element: "DAV:lockscope",
            parent: "DAV:lockinfo",
        });
    }
    let Some(scope) = scope else {
        return Err(LockInfoError::Missing {
            element: "DAV:exclusive or DAV:shared",
            parent: "DAV:lockscope",
        });
    };
    if !locktype_seen {
        return Err(LockInfoError::Missing {
            element: "DAV:locktype",
            parent: "DAV:lockinfo",
        });
    }
    if !write {
        return Err(match other_type {
            Some(element) => LockInfoError::UnsupportedLockType { element },
            None => LockInfoError::Missing {
                element: "DAV:write",
                parent: "DAV:locktype",
            },
        });
    }
    Ok(LockBody::Create(LockInfo { scope, owner }))
}

/// A top-level element of the owner's content: where its name ends in the body, the
/// prefixes declared on it, and those used in it (`None`: the default namespace).
struct TopElement {
    name_end: usize,
    declared: Vec<Option<String>>,
    used: Vec<Option<String>>,
}

/// Records the namespace declarations of `lockinfo` or `owner` (the owner's override).
fn note_declarations(element: &BytesStart<'_>, outer: &mut Vec<(Option<String>, String)>) {
    for attribute in element.attributes().flatten() {
        let key = attribute.key;
        let prefix = match key.as_namespace_binding() {
            Some(quick_xml::name::PrefixDeclaration::Default) => None,
            Some(quick_xml::name::PrefixDeclaration::Named(p)) => {
                Some(String::from_utf8_lossy(p).into_owned())
            }
            None => continue,
        };
        let uri = attribute
            .unescape_value()
            .map(|v| v.into_owned())
            .unwrap_or_default();
        outer.retain(|(p, _)| *p != prefix);
        outer.push((prefix, uri));
    }
}

/// Records the prefixes an element inside the owner uses and, for a top-level one, the
/// prefixes it declares and where its name ends.
fn note_prefixes(element: &BytesStart<'_>, at: usize, stack: &[Frame], tops: &mut Vec<TopElement>) {
    let prefix_of = |p: Option<quick_xml::name::Prefix<'_>>| {
        p.map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
    };
    if stack.last() == Some(&Frame::Owner) {
        let declared = element
            .attributes()
            .flatten()
            .filter_map(|a| match a.key.as_namespace_binding()? {
                quick_xml::name::PrefixDeclaration::Default => Some(None),
                quick_xml::name::PrefixDeclaration::Named(p) => {
                    Some(Some(String::from_utf8_lossy(p).into_owned()))
                }
            })
            .collect();
        tops.push(TopElement {
            name_end: at + 1 + element.name().as_ref().len(),
            declared,
            used: Vec::new(),
        });
    }
    let Some(top) = tops.last_mut() else { return };
    top.used.push(prefix_of(element.name().prefix()));
    for attribute in element.attributes().flatten() {
        let key = attribute.key;
        if key.as_namespace_binding().is_none()
            && let Some(p) = key.prefix()
            && p.as_ref() != b"xml"
        {
            top.used.push(prefix_of(Some(p)));
        }
    }
}

/// The owner's markup (`markup` starts at byte `start` of the body), each top-level
/// element given the outer declarations of the prefixes it uses and does not declare.
fn self_contained(
    markup: &str,
    start: usize,
    tops: &[TopElement],
    outer: &[(Option<String>, String)],
) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut copied = 0;
    for top in tops {
        let Some(at) = top.name_end.checked_sub(start) else {
            continue;
        };
        out.push_str(markup.get(copied..at).unwrap_or_default());
        copied = at;
        for (prefix, uri) in outer {
            if top.used.contains(prefix) && !top.declared.contains(prefix) {
                let uri = lockwarden::http::XmlText(uri)
                    .to_string()
                    .replace('"', "&quot;");
                match prefix {
                    Some(p) => out.push_str(&format!(" xmlns:{p}=\"{uri}\"")),
                    None => out.push_str(&format!(" xmlns=\"{uri}\"")),
                }
            }
        }
    }
    out.push_str(markup.get(copied..).unwrap_or_default());
    out.trim().to_owned()
}

/// The kind of a missing or repeated element: about the lock type, the scope, or neither.
fn kind_of_element(names: &[&str]) -> lockwarden::http::LockInfoError {
    use lockwarden::http::LockInfoError as Kind;
    if names
        .iter()
        .any(|n| n.contains("locktype") || n.contains("write"))
    {
        Kind::LockType
    } else if names.iter().any(|n| n.contains("lockscope")) {
        Kind::LockScope
    } else {
        Kind::Malformed
    }
}

fn is_dav(ns: &ResolveResult<'_>) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(uri)) if *uri == DAV)
}

fn malformed(reader: &NsReader<&[u8]>, message: &str) -> LockInfoError {
    LockInfoError::Malformed {
        position: reader.buffer_position(),
        message: message.to_owned(),
    }
}

/// The character a reference in text stands for: a character reference, or one of the
/// five entities XML predefines (XML 1.0 §4.6). Nothing else exists without a DTD.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, LockInfoError> {
    let name = String::from_utf8_lossy(reference).into_owned();
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(ch)) => Ok(ch),
            _ => Err(LockInfoError::Entity { name }),
        };
    }
    match name.as_str() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(LockInfoError::Entity { name }),
    }
}

/// Attribute values may hold references too; quick-xml resolves only the predefined ones
/// and reports any other, which is refused the same way as in text.
fn check_attributes(element: &BytesStart<'_>, position: u64) -> Result<(), LockInfoError> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| LockInfoError::Malformed {
            position,
            message: format!("bad attribute: {e}"),
        })?;
        if let Err(e) = attribute.unescape_value() {
            return Err(match e {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    _,
                    name,
                )) => LockInfoError::Entity { name },
                other => LockInfoError::Malformed {
                    position,
                    message: format!("bad attribute value: {other}"),
                },
            });
        }
    }
    Ok(())
}
