//! The owner of a lock: one value, two renderings.
//!
//! The table keeps the owner as the client sent it in `DAV:owner`: the element's
//! content as XML markup, each namespace prefix it uses declared inside it (RFC 4918
//! §14.17: the server returns it verbatim in `lockdiscovery`). [`OwnerText`] renders the
//! same value as plain text for problem+json, lock lists and logs; [`XmlText`] turns an
//! owner given as plain text (a JSON API, firmware) into that markup.

use core::fmt::{self, Write};

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
        let mut out = Collapsed {
            w: f,
            space: false,
            started: false,
        };
        let mut rest = self.0;
        while let Some(i) = rest.find(['<', '&']) {
            out.write_str(rest.get(..i).unwrap_or(""))?;
            let tail = rest.get(i..).unwrap_or("");
            rest = if let Some(body) = tail.strip_prefix("<![CDATA[") {
                let end = body.find("]]>").unwrap_or(body.len());
                out.write_str(body.get(..end).unwrap_or(""))?;
                after(body, "]]>")
            } else if tail.starts_with("<!--") {
                after(tail, "-->")
            } else if tail.starts_with("<?") {
                after(tail, "?>")
            } else if tail.starts_with('<') {
                after_tag(tail)
            } else {
                let reference = tail.find(';').and_then(|end| {
                    let c = tail.get(1..end).and_then(resolve)?;
                    Some((c, tail.get(end + 1..).unwrap_or("")))
                });
                match reference {
                    Some((c, next)) => {
                        out.write_char(c)?;
                        next
                    }
                    None => {
                        out.write_char('&')?;
                        tail.get(1..).unwrap_or("")
                    }
                }
            };
        }
        out.write_str(rest)
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
#[derive(Debug, Clone, Copy)]
pub struct XmlText<'a>(pub &'a str);

impl fmt::Display for XmlText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        xml_text(f, self.0)
    }
}

/// What follows the first `end` in `s` (nothing when it is unterminated).
fn after<'s>(s: &'s str, end: &str) -> &'s str {
    s.find(end)
        .and_then(|i| s.get(i + end.len()..))
        .unwrap_or("")
}

/// What follows a tag: its `>`, not counting one inside a quoted attribute value.
fn after_tag(s: &str) -> &str {
    let mut quote = None;
    for (i, b) in s.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return s.get(i + 1..).unwrap_or(""),
            _ => {}
        }
    }
    ""
}

/// The character an entity or character reference stands for (XML 1.0 §4.1, §4.6).
fn resolve(name: &str) -> Option<char> {
    let code = match name {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        _ => match name.strip_prefix("#x") {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => name.strip_prefix('#')?.parse().ok()?,
        },
    };
    char::from_u32(code)
}

/// Writes text with whitespace runs as single spaces, leading and trailing ones dropped.
struct Collapsed<'w, W: Write> {
    w: &'w mut W,
    space: bool,
    started: bool,
}

impl<W: Write> Write for Collapsed<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            self.write_char(c)?;
        }
        Ok(())
    }

    fn write_char(&mut self, c: char) -> fmt::Result {
        // XML's white space (XML 1.0 §2.3), not Unicode's.
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            self.space = self.started;
            return Ok(());
        }
        if self.space {
            self.w.write_char(' ')?;
            self.space = false;
        }
        self.started = true;
        self.w.write_char(c)
    }
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
