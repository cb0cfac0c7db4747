//! The owner of a lock: one value, two renderings.
//!
//! The table keeps the owner as the client sent it in `DAV:owner`: the element's
//! content as XML markup, each namespace prefix it uses declared inside it (RFC 4918
//! §14.17: the server returns it verbatim in `lockdiscovery`). [`OwnerText`] renders the
//! same value as plain text for problem+json, lock lists and logs; [`XmlText`] turns an
//! owner given as plain text (a JSON API, firmware) into that markup.

use core::fmt;

use crate::text::Text;

#[cfg(feature = "http-full")]
use super::write::xml_text;

/// The plain text of an owner kept as markup: its character data, the five predefined
/// entities and character references resolved, tags, comments and processing
/// instructions dropped, runs of whitespace shown as one space, trimmed.
///
/// # Examples
///
/// ```
/// use lockwarden::http::OwnerText;
/// let owner = r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name>"#;
/// assert_eq!(OwnerText(owner).to_string(), "Alice & Co");
/// assert_eq!(OwnerText("<D:href>\n  mailto:a@b\n</D:href>").to_string(), "mailto:a@b");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OwnerText<'a>(pub &'a str);

impl fmt::Display for OwnerText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl OwnerText<'_> {
    /// Writes the text, without `core::fmt`'s formatting machinery.
    pub(crate) fn write_text(&self, f: &mut dyn Text) -> fmt::Result {
        // Bytes, not chars: every delimiter is ASCII, so each slice taken between them
        // is whole UTF-8; and no pattern searcher or number parser is linked in.
        let (s, b) = (self.0, self.0.as_bytes());
        let mut out = Collapsed {
            w: f,
            space: false,
            started: false,
        };
        let (mut i, mut run) = (0, 0);
        while let Some(&c) = b.get(i) {
            if c != b'<' && c != b'&' {
                i += 1;
                continue;
            }
            out.write_str(s.get(run..i).unwrap_or(""))?;
            i = if c == b'&' {
                match reference(b, i + 1) {
                    Some((ch, next)) => {
                        out.write_str(ch.encode_utf8(&mut [0; 4]))?;
                        next
                    }
                    None => {
                        out.write_str("&")?;
                        i + 1
                    }
                }
            } else if starts(b, i, b"<![CDATA[") {
                let end = find(b, i + 9, b"]]>");
                out.write_str(s.get(i + 9..end).unwrap_or(""))?;
                end + 3
            } else if starts(b, i, b"<!--") {
                find(b, i + 4, b"-->") + 3
            } else if starts(b, i, b"<?") {
                find(b, i + 2, b"?>") + 2
            } else {
                after_tag(b, i)
            };
            run = i;
        }
        out.write_str(s.get(run..).unwrap_or(""))
    }
}

/// Plain text as XML character data: what a text owner is kept as, so that it reads
/// back as the same text from [`OwnerText`] and stays text in `lockdiscovery`.
///
/// # Examples
///
/// ```
/// use lockwarden::http::{OwnerText, XmlText};
/// let markup = XmlText("Alice & <Co>").to_string();
/// assert_eq!(markup, "Alice &amp; &lt;Co&gt;");
/// assert_eq!(OwnerText(&markup).to_string(), "Alice & <Co>");
/// ```
#[cfg(feature = "http-full")]
#[derive(Debug, Clone, Copy)]
pub struct XmlText<'a>(pub &'a str);

#[cfg(feature = "http-full")]
impl fmt::Display for XmlText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        xml_text(f, self.0)
    }
}

/// Whether `b` has `pattern` at `at`.
fn starts(b: &[u8], at: usize, pattern: &[u8]) -> bool {
    b.get(at..).is_some_and(|rest| rest.starts_with(pattern))
}

/// Where `pattern` first occurs in `b` from `from` on (`b.len()` when it does not).
fn find(b: &[u8], from: usize, pattern: &[u8]) -> usize {
    let found = b
        .get(from..)
        .and_then(|rest| rest.windows(pattern.len()).position(|w| w == pattern));
    found.map_or(b.len(), |p| from + p)
}

/// Where a tag starting at `at` ends: past its `>`, not counting one inside a quoted
/// attribute value.
fn after_tag(b: &[u8], at: usize) -> usize {
    let mut quote = 0;
    let mut i = at;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'"' | b'\'' if quote == 0 => quote = c,
            _ if c == quote => quote = 0,
            b'>' if quote == 0 => return i,
            _ => {}
        }
    }
    i
}

/// The character an entity or character reference starting at `at` (after its `&`)
/// stands for, and where it ends (XML 1.0 §4.1, §4.6).
fn reference(b: &[u8], at: usize) -> Option<(char, usize)> {
    let end = at + b.get(at..)?.iter().take(12).position(|&c| c == b';')?;
    let name = b.get(at..end)?;
    let c = match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        _ => {
            let (radix, digits) = match name {
                [b'#', b'x', digits @ ..] => (16, digits),
                [b'#', digits @ ..] => (10, digits),
                _ => return None,
            };
            let mut code: u32 = 0;
            for &d in digits {
                let v = char::from(d).to_digit(radix)?;
                code = code.checked_mul(radix)?.checked_add(v)?;
            }
            if digits.is_empty() {
                return None;
            }
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

/// Writes text with whitespace runs as single spaces, leading and trailing ones dropped.
struct Collapsed<'w> {
    w: &'w mut dyn Text,
    space: bool,
    started: bool,
}

impl Text for Collapsed<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut word = 0;
        for (i, &c) in s.as_bytes().iter().enumerate() {
            if is_space(c) {
                self.word(s.get(word..i).unwrap_or(""))?;
                self.space = self.started;
                word = i + 1;
            }
        }
        self.word(s.get(word..).unwrap_or(""))
    }
}

impl Collapsed<'_> {
    /// Writes a run without white space, after one space if white space came before.
    fn word(&mut self, word: &str) -> fmt::Result {
        if word.is_empty() {
            return Ok(());
        }
        if self.space {
            self.w.write_str(" ")?;
            self.space = false;
        }
        self.started = true;
        self.w.write_str(word)
    }
}

/// XML's white space (XML 1.0 §2.3), not Unicode's.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn owner_text_keeps_character_data_and_drops_markup() {
        let markup = "<?pi x?><!-- a > b --><a title=\"x > y\">Al<b/>ice</a> <![CDATA[<&>]]> &#65;&#x42; &bogus; &";
        assert_eq!(OwnerText(markup).to_string(), "Alice <&> AB &bogus; &");
    }

    #[test]
    fn owner_text_survives_unterminated_markup() {
        for s in ["<a", "<!--", "<![CDATA[x", "&#x110000;", "&#;", "<?"] {
            let _ = OwnerText(s).to_string();
        }
        assert_eq!(OwnerText("<![CDATA[x").to_string(), "x");
    }
}
