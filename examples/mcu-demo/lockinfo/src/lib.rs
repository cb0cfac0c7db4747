//! The `lockinfo` body of a WebDAV LOCK (RFC 4918 §14.11), read without std or a heap:
//! the lock scope, the lock type, and the owner kept verbatim, ready for
//! [`lockwarden::http::Request::lockinfo`]. Errors are the core's [`LockInfoError`], so
//! the core writes the 400.
//!
//! The reader knows the XML a `lockinfo` needs and no more, in about 6.5 KiB of flash on a
//! Cortex-M3 (a general XML tokenizer, xmlparser, took 19 KiB there): elements with attributes,
//! the predefined and numeric character references, comments, processing instructions,
//! and CDATA sections inside the owner. Start and end tags must match, nesting is bounded
//! by [`MAX_DEPTH`], and a DTD is refused, so no entity can expand. Elements count when
//! their namespace is `DAV:`, whatever the prefix (a default namespace too); elements of
//! other namespaces are skipped wherever they are (RFC 4918 §17), and unknown `DAV:`
//! elements outside `lockscope` and `locktype`. Namespace declarations are not scoped: a prefix bound to `DAV:`
//! anywhere counts everywhere after it, which a client sending a `lockinfo` cannot
//! exploit.
//!
//! It is lenient where that changes nothing that the body says: the content of the XML
//! declaration, a stray character in a name or an undeclared prefix may go unremarked.
//! Wherever a complete XML parser reads a body, the reader reads the same scope and
//! owner, or refuses it (tests/against_roxmltree.rs checks this on thousands of mutated
//! bodies).
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
/// The most attributes one element may have.
const MAX_ATTRIBUTES: usize = 8;

use LockInfoError::Malformed;

/// Reads a `lockinfo` body.
///
/// # Errors
///
/// [`LockInfoError::Malformed`] for a body that is not well-formed XML (or has a DTD), or
/// whose root is not `DAV:lockinfo`; [`LockInfoError::LockScope`] when the scope is
/// missing or neither exclusive nor shared; [`LockInfoError::LockType`] when the type is
/// missing or not write.
pub fn parse(body: &[u8]) -> Result<LockInfoBody<'_>, LockInfoError> {
    let text = core::str::from_utf8(body).map_err(|_| Malformed)?;
    let mut xml = Scanner { text, at: 0 };
    let mut lockinfo = Reading::default();
    // The open elements' names, to match each end tag with its start tag.
    let mut open: [&str; MAX_DEPTH] = [""; MAX_DEPTH];
    let mut depth = 0usize;
    let mut roots = 0;

    loop {
        let chars = xml.text_until_tag();
        character_data(chars)?;
        if depth == 0 && !chars.trim().is_empty() {
            return Err(Malformed);
        }
        if xml.rest().is_empty() {
            break;
        }
        if xml.skip_over("<?", "?>")? || xml.skip_over("<!--", "-->")? {
            continue;
        }
        if xml.rest().starts_with("<![CDATA[") {
            // Character data: only inside an element.
            if depth == 0 {
                return Err(Malformed);
            }
            xml.skip_over("<![CDATA[", "]]>")?;
            continue;
        }
        if xml.rest().starts_with("<!") {
            // A DOCTYPE, the only other markup declaration: no DTD, no entities.
            return Err(Malformed);
        }
        if xml.rest().starts_with("</") {
            let tag_start = xml.at;
            xml.at += 2;
            let name = xml.name()?;
            xml.whitespace();
            xml.expect(">")?;
            depth = depth.checked_sub(1).ok_or(Malformed)?;
            if open.get(depth) != Some(&name) {
                return Err(Malformed);
            }
            lockinfo.closed(text, depth, tag_start)?;
            continue;
        }

        // A start tag: its namespace declarations count before its name is resolved.
        xml.at += 1;
        let name = xml.name()?;
        let mut attributes = 0;
        let empty = loop {
            let spaced = xml.whitespace();
            if xml.expect("/>").is_ok() {
                break true;
            }
            if xml.expect(">").is_ok() {
                break false;
            }
            attributes += 1;
            if !spaced || attributes > MAX_ATTRIBUTES {
                return Err(Malformed);
            }
            let attribute = xml.name()?;
            xml.whitespace();
            xml.expect("=")?;
            xml.whitespace();
            let value = xml.quoted()?;
            character_data(value)?;
            let declared = match attribute.split_once(':') {
                Some(("xmlns", prefix)) => Some(prefix),
                None if attribute == "xmlns" => Some(""),
                _ => None,
            };
            if let (Some(prefix), "DAV:") = (declared, value) {
                lockinfo.bind_dav(prefix);
            }
        };
        if depth == 0 {
            roots += 1;
            if roots > 1 {
                return Err(Malformed);
            }
        }
        lockinfo.opened(name, depth, xml.at)?;
        if empty {
            lockinfo.closed(text, depth, xml.at)?;
        } else {
            *open.get_mut(depth).ok_or(Malformed)? = name;
            depth += 1;
        }
    }
    if depth != 0 {
        return Err(Malformed);
    }
    lockinfo.finish()
}

/// A cursor over the body.
struct Scanner<'a> {
    text: &'a str,
    /// Byte offset; always on a character boundary (it only moves past ASCII markup or
    /// to a found ASCII delimiter).
    at: usize,
}

impl<'a> Scanner<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or_default()
    }

    /// The character data up to the next `<` (or the end), consumed.
    fn text_until_tag(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find('<').unwrap_or(rest.len());
        self.at += len;
        rest.get(..len).unwrap_or_default()
    }

    /// Skips `open ... close` when the rest starts with `open`; an unclosed one is
    /// malformed.
    fn skip_over(&mut self, open: &str, close: &str) -> Result<bool, LockInfoError> {
        let rest = self.rest();
        if !rest.starts_with(open) {
            return Ok(false);
        }
        let inner = rest.get(open.len()..).unwrap_or_default();
        let end = inner.find(close).ok_or(Malformed)?;
        self.at += open.len() + end + close.len();
        Ok(true)
    }

    /// Consumes whitespace; returns whether there was any.
    fn whitespace(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        self.at += rest.len() - trimmed.len();
        trimmed.len() != rest.len()
    }

    fn expect(&mut self, literal: &str) -> Result<(), LockInfoError> {
        if self.rest().starts_with(literal) {
            self.at += literal.len();
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// A name (with its prefix): letters, digits, `_ - . :` and any non-ASCII character,
    /// not starting with a digit, `-` or `.`.
    fn name(&mut self) -> Result<&'a str, LockInfoError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.:".contains(c) || !c.is_ascii()))
            .unwrap_or(rest.len());
        let name = rest.get(..len).unwrap_or_default();
        match name.chars().next() {
            Some(first) if !(first.is_ascii_digit() || first == '-' || first == '.') => {
                self.at += len;
                Ok(name)
            }
            _ => Err(Malformed),
        }
    }

    /// An attribute value in single or double quotes, without the quotes.
    fn quoted(&mut self) -> Result<&'a str, LockInfoError> {
        let rest = self.rest();
        let quote = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(Malformed),
        };
        let inner = rest.get(1..).unwrap_or_default();
        let len = inner.find(quote).ok_or(Malformed)?;
        let value = inner.get(..len).unwrap_or_default();
        if value.contains('<') {
            return Err(Malformed);
        }
        self.at += len + 2;
        Ok(value)
    }
}

/// Checks the references in character data: the five predefined entities and numeric
/// character references only (no DTD can define others).
fn character_data(text: &str) -> Result<(), LockInfoError> {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let after = rest.get(amp + 1..).unwrap_or_default();
        let end = after.find(';').ok_or(Malformed)?;
        let reference = after.get(..end).unwrap_or_default();
        let known = matches!(reference, "amp" | "lt" | "gt" | "apos" | "quot")
            || reference
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| reference.strip_prefix('#').map(str::parse::<u32>))
                .is_some_and(|code| code.is_ok_and(|c| c != 0 && char::from_u32(c).is_some()));
        if !known {
            return Err(Malformed);
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    Ok(())
}

/// Where the reader is, below the root.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Inside {
    #[default]
    Nothing,
    LockScope,
    LockType,
    Owner,
    Other,
}

/// What the elements read so far say.
#[derive(Default)]
struct Reading<'a> {
    dav: [Option<&'a str>; PREFIXES],
    saw_root: bool,
    inside: Inside,
    scope: Option<Scope>,
    write_type: bool,
    owner_start: Option<usize>,
    owner: &'a str,
}

impl<'a> Reading<'a> {
    fn bind_dav(&mut self, prefix: &'a str) {
        if !self.dav.contains(&Some(prefix))
            && let Some(free) = self.dav.iter_mut().find(|slot| slot.is_none())
        {
            *free = Some(prefix);
        }
    }

    /// The local name of `name` if its namespace is `DAV:`, else "".
    fn dav_name(&self, name: &'a str) -> &'a str {
        let (prefix, local) = name.split_once(':').unwrap_or(("", name));
        if self.dav.contains(&Some(prefix)) {
            local
        } else {
            ""
        }
    }

    /// An element `name` opened at `depth`; its start tag ends at `content`.
    fn opened(&mut self, name: &'a str, depth: usize, content: usize) -> Result<(), LockInfoError> {
        let name = self.dav_name(name);
        match depth {
            0 if name == "lockinfo" => self.saw_root = true,
            0 => return Err(Malformed),
            1 => {
                self.inside = match name {
                    "lockscope" => Inside::LockScope,
                    "locktype" => Inside::LockType,
                    "owner" => Inside::Owner,
                    _ => Inside::Other,
                };
                if self.inside == Inside::Owner {
                    self.owner_start = Some(content);
                }
            }
            2 => match (self.inside, name) {
                // RFC 4918 §17: elements of other namespaces are extensions, ignored.
                (_, "") => {}
                (Inside::LockScope, "exclusive" | "shared") if self.scope.is_some() => {
                    return Err(LockInfoError::LockScope);
                }
                (Inside::LockScope, "exclusive") => self.scope = Some(Scope::Exclusive),
                (Inside::LockScope, "shared") => self.scope = Some(Scope::Shared),
                (Inside::LockScope, _) => return Err(LockInfoError::LockScope),
                (Inside::LockType, "write") => self.write_type = true,
                (Inside::LockType, _) => return Err(LockInfoError::LockType),
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// The element opened at `depth` closed; its end tag starts at `end` in `text`.
    fn closed(&mut self, text: &'a str, depth: usize, end: usize) -> Result<(), LockInfoError> {
        if depth == 1 {
            if let Some(start) = self.owner_start.take() {
                self.owner = text.get(start..end).ok_or(Malformed)?.trim();
            }
            self.inside = Inside::Nothing;
        }
        Ok(())
    }

    fn finish(self) -> Result<LockInfoBody<'a>, LockInfoError> {
        if !self.saw_root {
            return Err(Malformed);
        }
        if !self.write_type {
            return Err(LockInfoError::LockType);
        }
        let scope = self.scope.ok_or(LockInfoError::LockScope)?;
        Ok(LockInfoBody {
            scope,
            owner: self.owner,
        })
    }
}
