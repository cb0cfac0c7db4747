//! The body of a `LOCK` request: a `DAV:lockinfo` document (RFC 4918 §9.10, §14.11), or
//! nothing, which asks for a refresh (§9.10.2).
//!
//! The parser is quick-xml with the doors shut that XML leaves open: no DTD (so no entity
//! can be declared, and none is expanded: billion-laughs and external entities have
//! nothing to work with), only the five predefined entities and character references,
//! a bounded body size and nesting depth. The owner is kept verbatim, as the markup the
//! client sent (§14.17: the server must keep it and return it in `lockdiscovery`).

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

/// The `DAV:owner` of a lock request (RFC 4918 §14.17).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    /// The element's content as sent: text and markup, escapes untouched, surrounding
    /// whitespace trimmed. This is what `lockdiscovery` gives back.
    pub markup: String,
    /// The character data of the content, escapes resolved, surrounding whitespace
    /// trimmed: `mailto:alice@example.com` for an owner sent as a `DAV:href`. Fit for
    /// plain-text displays such as a problem+json `owner`.
    pub text: String,
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
/// assert_eq!(owner.markup, "<D:href>mailto:alice@example.com</D:href>");
/// assert_eq!(owner.text, "mailto:alice@example.com");
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
    let mut owner_text = String::new();

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
                        owner_text.clear();
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
                    (Some(Frame::LockScope), _, _) => {
                        return Err(LockInfoError::UnknownLockScope { element: name });
                    }
                    (Some(Frame::LockType), true, b"write") => {
                        write = true;
                        Frame::Other
                    }
                    (Some(Frame::LockType), _, _) => {
                        other_type.get_or_insert(name);
                        Frame::Other
                    }
                    _ => Frame::Other,
                };
                if !empty {
                    stack.push(frame);
                }
            }
            Event::End(_) => {
                if stack.pop() == Some(Frame::Owner) {
                    let markup = text.get(owner_start..before).unwrap_or_default();
                    owner = Some(Owner {
                        markup: markup.trim().to_owned(),
                        text: owner_text.trim().to_owned(),
                    });
                }
            }
            Event::Text(t) => {
                let content = t.decode().map_err(|e| malformed(&reader, &e.to_string()))?;
                if in_owner {
                    owner_text.push_str(&content);
                } else if stack.is_empty() && !content.trim().is_empty() {
                    return Err(malformed(&reader, "text outside the DAV:lockinfo element"));
                }
            }
            Event::CData(c) => {
                if in_owner {
                    let content = c.decode().map_err(|e| malformed(&reader, &e.to_string()))?;
                    owner_text.push_str(&content);
                }
            }
            Event::GeneralRef(reference) => {
                let ch = resolve_reference(&reference)?;
                if in_owner {
                    owner_text.push(ch);
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
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
