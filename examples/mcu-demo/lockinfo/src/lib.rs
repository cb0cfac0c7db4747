//! The `lockinfo` body of a WebDAV LOCK (RFC 4918 §14.11), read without std or a heap:
//! the lock scope, the lock type, and the owner kept as sent, ready for
//! [`lockwarden::http::Request::lockinfo`]. Errors are the core's [`LockInfoError`], so
//! the core writes the 400. [`LockInfoBody::owner_markup`] gives an owner sent as markup
//! the namespace declarations it relies on, so that lockdiscovery can return it.
//!
//! The reader knows the XML a `lockinfo` needs and no more, in about 10 KiB of flash on a
//! Cortex-M3 (a general XML tokenizer, xmlparser, took 19 KiB there on its own): elements
//! with attributes, the predefined and numeric character references, comments,
//! processing instructions, and CDATA sections inside the owner. Start and end tags must
//! match, nesting is bounded by [`MAX_DEPTH`], and a DTD is refused, so no entity can
//! expand. Elements count when their namespace is `DAV:`, whatever the prefix (a default
//! namespace too); elements of other namespaces are skipped wherever they are (RFC 4918
//! §17), and unknown `DAV:` elements outside `lockscope` and `locktype`. Namespace
//! declarations are not scoped: a prefix bound to `DAV:` anywhere counts everywhere after
//! it, which a client sending a `lockinfo` cannot exploit.
//!
//! It is lenient where that changes nothing that the body says: the content of the XML
//! declaration, a stray character in a name or an undeclared prefix may go unremarked.
//! Wherever a complete XML parser reads a body, the reader reads the same scope and
//! owner, or refuses it, and the owner's markup stands alone with the same namespaces
//! (tests/against_roxmltree.rs checks this on thousands of mutated bodies).
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
    /// The content of `DAV:owner`, as sent (trimmed); empty when absent. Markup in it may
    /// use prefixes declared outside it: [`LockInfoBody::owner_markup`] declares them.
    pub owner: &'a str,
    /// The namespace declarations of lockinfo and owner (prefix, quoted value).
    declarations: [Option<(&'a str, &'a str)>; DECLARATIONS],
}

impl LockInfoBody<'_> {
    /// Writes the owner into `buf` as markup that stands alone (RFC 4918 §14.17: the
    /// owner comes back in lockdiscovery as sent): each element at the top of the owner
    /// gets the declarations, from lockinfo and owner, of the prefixes the owner uses,
    /// unless it declares them itself. Text comes out unchanged.
    ///
    /// # Errors
    ///
    /// [`LockInfoError::OwnerTooLong`] when `buf` cannot hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let body = br#"<a:lockinfo xmlns:a="DAV:"><a:lockscope><a:shared/></a:lockscope>
    ///   <a:locktype><a:write/></a:locktype><a:owner><a:href>mailto:x@y</a:href></a:owner></a:lockinfo>"#;
    /// let info = lockinfo::parse(body).unwrap();
    /// let mut buf = [0u8; 64];
    /// assert_eq!(info.owner_markup(&mut buf), Ok(r#"<a:href xmlns:a="DAV:">mailto:x@y</a:href>"#));
    /// ```
    pub fn owner_markup<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, LockInfoError> {
        let mut used: [Option<&str>; DECLARATIONS] = [None; DECLARATIONS];
        let mut note = |prefix: &str| {
            let known = self
                .declarations
                .iter()
                .flatten()
                .find(|(p, _)| *p == prefix);
            if let Some((p, _)) = known
                && !used.contains(&Some(p))
                && let Some(free) = used.iter_mut().find(|slot| slot.is_none())
            {
                *free = Some(p);
            }
        };
        // The prefixes of the owner's elements ("" for the default namespace) and of
        // its attributes (unprefixed ones have no namespace).
        let mut xml = Scanner {
            text: self.owner,
            at: 0,
        };
        while let Some(tag) = xml.next_start_tag()? {
            note(tag.name.split_once(':').map_or("", |(p, _)| p));
            for (name, _) in tag.attributes() {
                if let Some((p, _)) = name.split_once(':')
                    && p != "xmlns"
                {
                    note(p);
                }
            }
        }

        let mut out = Output { buf, len: 0 };
        let mut xml = Scanner {
            text: self.owner,
            at: 0,
        };
        let mut depth = 0usize;
        loop {
            out.push(xml.text_until_tag())?;
            let start = xml.at;
            let rest = xml.rest();
            if rest.is_empty() {
                break;
            }
            if xml.skip_over("<?", "?>")?
                || xml.skip_over("<!--", "-->")?
                || xml.skip_over("<![CDATA[", "]]>")?
            {
                out.push(self.owner.get(start..xml.at).unwrap_or_default())?;
                continue;
            }
            if rest.starts_with("</") {
                let end = rest.find('>').ok_or(Malformed)? + 1;
                out.push(rest.get(..end).unwrap_or_default())?;
                xml.at += end;
                depth = depth.saturating_sub(1);
                continue;
            }
            let tag = xml.start_tag()?;
            let after_name = start + 1 + tag.name.len();
            out.push(self.owner.get(start..after_name).unwrap_or_default())?;
            if depth == 0 {
                for (prefix, quoted) in self.declarations.iter().flatten() {
                    if used.contains(&Some(prefix)) && !tag.declares(prefix) {
                        out.push(if prefix.is_empty() {
                            " xmlns"
                        } else {
                            " xmlns:"
                        })?;
                        out.push(prefix)?;
                        out.push("=")?;
                        out.push(quoted)?;
                    }
                }
            }
            out.push(self.owner.get(after_name..xml.at).unwrap_or_default())?;
            if !tag.empty {
                depth += 1;
            }
        }
        out.finish()
    }
}

/// Bytes written into a caller's buffer.
struct Output<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Output<'b> {
    fn push(&mut self, text: &str) -> Result<(), LockInfoError> {
        let end = self.len + text.len();
        let room = self
            .buf
            .get_mut(self.len..end)
            .ok_or(LockInfoError::OwnerTooLong)?;
        room.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }

    fn finish(self) -> Result<&'b str, LockInfoError> {
        let written = self.buf.get(..self.len).unwrap_or_default();
        // Whole pieces of a `str` were copied, so this cannot fail.
        core::str::from_utf8(written).map_err(|_| Malformed)
    }
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
        let tag = xml.start_tag()?;
        for (prefix, value) in tag.declarations() {
            if value == "DAV:" {
                lockinfo.bind_dav(prefix);
            }
        }
        let (name, empty) = (tag.name, tag.empty);
        if depth == 0 {
            roots += 1;
            if roots > 1 {
                return Err(Malformed);
            }
        }
        lockinfo.opened(name, depth, xml.at)?;
        // The declarations the owner's markup may rely on: those of lockinfo and of owner.
        if depth == 0 || (depth == 1 && lockinfo.inside == Inside::Owner) {
            for (prefix, quoted) in tag.raw_declarations() {
                lockinfo.declare(prefix, quoted);
            }
        }
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

    /// The next start tag, skipping text, end tags, comments, processing instructions
    /// and CDATA; `None` at the end.
    fn next_start_tag(&mut self) -> Result<Option<StartTag<'a>>, LockInfoError> {
        loop {
            self.text_until_tag();
            let rest = self.rest();
            if rest.is_empty() {
                return Ok(None);
            }
            if self.skip_over("<?", "?>")?
                || self.skip_over("<!--", "-->")?
                || self.skip_over("<![CDATA[", "]]>")?
            {
                continue;
            }
            if rest.starts_with("</") {
                self.at += rest.find('>').ok_or(Malformed)? + 1;
                continue;
            }
            return self.start_tag().map(Some);
        }
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

    /// A start tag, the rest starting with `<`: its name, its attributes, whether it is
    /// empty (`/>`).
    fn start_tag(&mut self) -> Result<StartTag<'a>, LockInfoError> {
        self.expect("<")?;
        let name = self.name()?;
        let mut tag = StartTag {
            name,
            attributes: [("", ""); MAX_ATTRIBUTES],
            count: 0,
            empty: false,
        };
        loop {
            let spaced = self.whitespace();
            if self.expect("/>").is_ok() {
                tag.empty = true;
                return Ok(tag);
            }
            if self.expect(">").is_ok() {
                return Ok(tag);
            }
            if !spaced {
                return Err(Malformed);
            }
            let attribute = self.name()?;
            self.whitespace();
            self.expect("=")?;
            self.whitespace();
            let start = self.at;
            let value = self.quoted()?;
            character_data(value)?;
            let quoted = self.text.get(start..self.at).unwrap_or_default();
            let slot = tag.attributes.get_mut(tag.count).ok_or(Malformed)?;
            *slot = (attribute, quoted);
            tag.count += 1;
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

/// A start tag as read.
struct StartTag<'a> {
    name: &'a str,
    /// Name and value, the value with its quotes.
    attributes: [(&'a str, &'a str); MAX_ATTRIBUTES],
    count: usize,
    empty: bool,
}

impl<'a> StartTag<'a> {
    fn attributes(&self) -> &[(&'a str, &'a str)] {
        self.attributes.get(..self.count).unwrap_or_default()
    }

    /// The namespace declarations: prefix ("" for the default namespace) and the value
    /// with its quotes.
    fn raw_declarations(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.attributes().iter().filter_map(|&(name, quoted)| {
            let prefix = match name.split_once(':') {
                Some(("xmlns", prefix)) => prefix,
                None if name == "xmlns" => "",
                _ => return None,
            };
            Some((prefix, quoted))
        })
    }

    /// The namespace declarations: prefix and value, without quotes.
    fn declarations(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.raw_declarations()
            .map(|(prefix, quoted)| (prefix, quoted.get(1..quoted.len() - 1).unwrap_or_default()))
    }

    fn declares(&self, prefix: &str) -> bool {
        self.raw_declarations().any(|(p, _)| p == prefix)
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

/// Namespace declarations kept for the owner's markup (of lockinfo and owner).
const DECLARATIONS: usize = 8;

/// What the elements read so far say.
#[derive(Default)]
struct Reading<'a> {
    dav: [Option<&'a str>; PREFIXES],
    /// Prefix and quoted value of the declarations on lockinfo and owner; owner's last.
    declarations: [Option<(&'a str, &'a str)>; DECLARATIONS],
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

    /// Keeps a declaration in scope inside the owner; a later one of the same prefix
    /// (on owner) replaces the earlier (on lockinfo).
    fn declare(&mut self, prefix: &'a str, quoted: &'a str) {
        let slot = self
            .declarations
            .iter_mut()
            .find(|slot| slot.is_none_or(|(p, _)| p == prefix));
        if let Some(slot) = slot {
            *slot = Some((prefix, quoted));
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
            declarations: self.declarations,
        })
    }
}
