//! The `lockinfo` body of a WebDAV LOCK (RFC 4918 §14.11), read with xmlparser's
//! tokenizer, without std or a heap: the lock scope, the lock type, and the owner kept
//! verbatim, ready for [`lockwarden::http::Request::lockinfo`]. Errors are the core's
//! [`LockInfoError`], so the core writes the 400.
//!
//! Elements count when their namespace is `DAV:`, whatever the prefix (a default
//! namespace too); unknown elements are skipped. No DTD is accepted, so no entity can
//! expand. Namespace declarations are not scoped: a prefix bound to `DAV:` anywhere counts
//! everywhere after it, which a client sending a `lockinfo` cannot exploit.
//!
//! # Examples
//!
//! ```
//! use lockwarden::Scope;
//! let body = br#"<?xml version="1.0" encoding="utf-8"?>
//! <D:lockinfo xmlns:D="DAV:">
//!   <D:lockscope><D:exclusive/></D:lockscope>
//!   <D:locktype><D:write/></D:locktype>
//!   <D:owner><D:href>mailto:alice@example.com</D:href></D:owner>
//! </D:lockinfo>"#;
//! let info = lockinfo::parse(body).unwrap();
//! assert_eq!(info.scope, Scope::Exclusive);
//! assert_eq!(info.owner, "<D:href>mailto:alice@example.com</D:href>");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use lockwarden::Scope;
use lockwarden::http::LockInfoError;
use xmlparser::{ElementEnd, Token, Tokenizer};

/// What a `lockinfo` body asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct LockInfoBody<'a> {
    /// `DAV:exclusive` or `DAV:shared`.
    pub scope: Scope,
    /// The content of `DAV:owner`, as sent (trimmed); empty when absent.
    pub owner: &'a str,
}

/// Namespace prefixes bound to `DAV:` that are remembered ("" is the default namespace).
const PREFIXES: usize = 4;
/// The deepest nesting read (an owner's markup included); deeper is refused as malformed.
pub const MAX_DEPTH: usize = 16;

/// Where the tokenizer is, below the root.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inside {
    Nothing,
    LockScope,
    LockType,
    Owner,
    Other,
}

/// Reads a `lockinfo` body.
///
/// # Errors
///
/// [`LockInfoError::Malformed`] for a body that is not well-formed XML (or has a DTD), or
/// whose root is not `DAV:lockinfo`; [`LockInfoError::LockScope`] when the scope is
/// missing or neither exclusive nor shared; [`LockInfoError::LockType`] when the type is
/// missing or not write.
pub fn parse(body: &[u8]) -> Result<LockInfoBody<'_>, LockInfoError> {
    let text = core::str::from_utf8(body).map_err(|_| LockInfoError::Malformed)?;
    let mut dav: [Option<&str>; PREFIXES] = [None; PREFIXES];
    // The element whose start tag is being read: (prefix, local name).
    let mut opening: Option<(&str, &str)> = None;
    // The open elements, to match each end tag with its start tag.
    let mut open: [(&str, &str); MAX_DEPTH] = [("", ""); MAX_DEPTH];
    let mut depth = 0usize;
    let mut saw_root = false;
    let mut inside = Inside::Nothing;
    let mut scope = None;
    let mut write_type = false;
    let mut owner_start = None;
    let mut owner = "";

    for token in Tokenizer::from(text) {
        match token.map_err(|_| LockInfoError::Malformed)? {
            Token::DtdStart { .. } | Token::EmptyDtd { .. } | Token::EntityDeclaration { .. } => {
                return Err(LockInfoError::Malformed);
            }
            Token::ElementStart { prefix, local, .. } => {
                opening = Some((prefix.as_str(), local.as_str()));
            }
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                let declares = match (prefix.as_str(), local.as_str()) {
                    ("xmlns", name) => Some(name),
                    ("", "xmlns") => Some(""),
                    _ => None,
                };
                if let (Some(name), "DAV:") = (declares, value.as_str())
                    && let Some(free) = dav.iter_mut().find(|slot| slot.is_none())
                {
                    *free = Some(name);
                }
            }
            Token::ElementEnd { end, span } => match end {
                ElementEnd::Open | ElementEnd::Empty => {
                    let (prefix, local) = opening.take().ok_or(LockInfoError::Malformed)?;
                    let in_dav = dav.contains(&Some(prefix));
                    let name = if in_dav { local } else { "" };
                    match depth {
                        0 if name == "lockinfo" && !saw_root => saw_root = true,
                        0 => return Err(LockInfoError::Malformed),
                        1 => {
                            inside = match name {
                                "lockscope" => Inside::LockScope,
                                "locktype" => Inside::LockType,
                                "owner" => Inside::Owner,
                                _ => Inside::Other,
                            };
                            if inside == Inside::Owner {
                                owner_start = Some(span.end());
                            }
                        }
                        2 => match (inside, name) {
                            (Inside::LockScope, "exclusive") => scope = Some(Scope::Exclusive),
                            (Inside::LockScope, "shared") => scope = Some(Scope::Shared),
                            (Inside::LockScope, _) => return Err(LockInfoError::LockScope),
                            (Inside::LockType, "write") => write_type = true,
                            (Inside::LockType, _) => return Err(LockInfoError::LockType),
                            _ => {}
                        },
                        _ => {}
                    }
                    if end == ElementEnd::Open {
                        let slot = open.get_mut(depth).ok_or(LockInfoError::Malformed)?;
                        *slot = (prefix, local);
                        depth += 1;
                    } else if depth == 1 {
                        inside = Inside::Nothing;
                        owner_start = None;
                    }
                }
                ElementEnd::Close(prefix, local) => {
                    depth = depth.checked_sub(1).ok_or(LockInfoError::Malformed)?;
                    if open.get(depth) != Some(&(prefix.as_str(), local.as_str())) {
                        return Err(LockInfoError::Malformed);
                    }
                    if depth == 1 {
                        if let Some(start) = owner_start.take() {
                            owner = text
                                .get(start..span.start())
                                .ok_or(LockInfoError::Malformed)?
                                .trim();
                        }
                        inside = Inside::Nothing;
                    }
                }
            },
            _ => {}
        }
    }
    if !saw_root || depth != 0 {
        return Err(LockInfoError::Malformed);
    }
    if !write_type {
        return Err(LockInfoError::LockType);
    }
    let scope = scope.ok_or(LockInfoError::LockScope)?;
    Ok(LockInfoBody { scope, owner })
}
