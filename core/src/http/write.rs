//! Writing into a caller's memory: a `fmt::Write` over a byte buffer that reports a
//! buffer too small, a counting sink, and the escapes the bodies need (JSON strings,
//! XML text, percent-encoded hrefs).

use core::fmt::{self, Write};

use crate::text::Text;

/// The caller's buffer cannot hold what was to be written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// The bytes the whole output needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response needs a buffer of {} bytes", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// A [`fmt::Write`] into a byte buffer; writing past its end fails and sets a flag.
///
/// # Examples
///
/// ```
/// use core::fmt::Write;
/// use lockwarden::http::SliceWriter;
/// let mut buf = [0u8; 8];
/// let mut w = SliceWriter::new(&mut buf);
/// write!(w, "423").unwrap();
/// assert_eq!(w.as_bytes(), b"423");
/// assert!(write!(w, "{}", "too long for it").is_err());
/// assert!(w.overflowed());
/// ```
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflowed: bool,
}

impl<'b> SliceWriter<'b> {
    /// A writer that fills `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceWriter {
            buf,
            len: 0,
            overflowed: false,
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a write did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len());
        match end.and_then(|end| self.buf.get_mut(self.len..end)) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len += s.len();
                Ok(())
            }
            None => {
                self.overflowed = true;
                Err(fmt::Error)
            }
        }
    }
}

/// Writes `n` in decimal: the renderers' numbers, without `core::fmt`'s formatting
/// machinery (the largest single cost of text output on a microcontroller).
pub(crate) fn decimal(w: &mut dyn Text, n: usize) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    w.write_str(core::str::from_utf8(digits.get(at..).unwrap_or_default()).unwrap_or("0"))
}

/// Writes `bytes` in hexadecimal, two digits each, from `digits`.
fn hex(w: &mut dyn Text, bytes: &[u8], digits: &[u8; 16]) -> fmt::Result {
    let mut text = [b'0'; 4];
    for (pair, b) in text.chunks_exact_mut(2).zip(bytes) {
        for (d, nibble) in pair.iter_mut().zip([b >> 4, b & 0xf]) {
            *d = digits.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
    let len = 2 * bytes.len().min(2);
    w.write_str(core::str::from_utf8(text.get(..len).unwrap_or_default()).unwrap_or(""))
}

/// Writes each piece in turn.
pub(crate) fn pieces(w: &mut dyn Text, pieces: &[&str]) -> fmt::Result {
    pieces.iter().try_for_each(|p| w.write_str(p))
}

/// A [`fmt::Write`] that only counts bytes: the size a body will have.
#[derive(Debug, Default, Clone, Copy)]
pub struct ByteCounter(pub usize);

impl Write for ByteCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Runs `render` into `buf`; on overflow, reports how many bytes it needs.
pub(crate) fn render_into(
    buf: &mut [u8],
    render: impl Fn(&mut dyn Text) -> fmt::Result,
) -> Result<usize, BufferTooSmall> {
    let mut w = SliceWriter::new(buf);
    match render(&mut w) {
        Ok(()) => Ok(w.len()),
        Err(_) => {
            let mut count = ByteCounter(0);
            // A renderer that fails on an infallible sink has nothing to measure.
            let _ = render(&mut count);
            Err(BufferTooSmall { needed: count.0 })
        }
    }
}

/// `s` as a JSON string, quotes included (RFC 8259 §7). Control characters, quote and
/// backslash are escaped; so are U+2028 and U+2029, which end a line in JavaScript.
pub(crate) fn json_string(w: &mut dyn Text, s: &str) -> fmt::Result {
    w.write_str("\"")?;
    json_escape(w, s)?;
    w.write_str("\"")
}

/// The inside of a JSON string: `s` with what JSON strings cannot hold escaped. Bytes,
/// not chars: every character escaped is ASCII except U+2028 and U+2029, found by their
/// UTF-8 bytes, so each run written between escapes is whole UTF-8.
pub(crate) fn json_escape(w: &mut dyn Text, s: &str) -> fmt::Result {
    let b = s.as_bytes();
    let (mut i, mut start) = (0, 0);
    while let Some(&c) = b.get(i) {
        let (escape, len): (Option<&str>, usize) = match c {
            b'"' => (Some("\\\""), 1),
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            0x08 => (Some("\\b"), 1),
            0x0c => (Some("\\f"), 1),
            0..=0x1f | 0x7f => (None, 1),
            // U+2028 and U+2029 end a line in JavaScript.
            0xe2 if matches!(b.get(i + 1..i + 3), Some([0x80, 0xa8 | 0xa9])) => (None, 3),
            _ => {
                i += 1;
                continue;
            }
        };
        w.write_str(s.get(start..i).unwrap_or(""))?;
        match escape {
            Some(e) => w.write_str(e)?,
            None => {
                let code = match len {
                    1 => u16::from(c),
                    _ => 0x2028 + u16::from(b.get(i + 2) == Some(&0xa9)),
                };
                let [hi, lo] = code.to_be_bytes();
                w.write_str("\\u")?;
                hex(w, &[hi, lo], b"0123456789abcdef")?;
            }
        }
        i += len;
        start = i;
    }
    w.write_str(s.get(start..).unwrap_or(""))
}

/// A [`Write`] adapter that JSON-escapes what is written through it.
pub(crate) struct JsonEscape<'w>(pub &'w mut dyn Text);

impl Text for JsonEscape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        json_escape(self.0, s)
    }
}

/// A [`Write`] adapter that XML-escapes what is written through it.
#[cfg(feature = "http-full")]
pub(crate) struct XmlEscape<'w>(pub &'w mut dyn Text);

#[cfg(feature = "http-full")]
impl Text for XmlEscape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        xml_text(self.0, s)
    }
}

/// `s` as XML character data (XML 1.0 §2.4, §2.2): `&`, `<` and `>` are escaped (quotes
/// need no escape outside attributes) and a carriage return is kept as `&#13;`. Characters XML 1.0 cannot carry at all, even as a
/// reference (C0 controls other than tab and newline, U+FFFE, U+FFFF), become U+FFFD.
#[cfg(feature = "http-full")]
pub(crate) fn xml_text(w: &mut dyn Text, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\r' => "&#13;",
            '\t' | '\n' => continue,
            '\0'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => "\u{fffd}",
            _ => continue,
        };
        w.write_str(s.get(start..i).unwrap_or(""))?;
        w.write_str(escape)?;
        start = i + c.len_utf8();
    }
    w.write_str(s.get(start..).unwrap_or(""))
}

/// A canonical (decoded) path as a URI path (RFC 3986 §3.3): bytes outside the
/// unreserved characters, `/` and the sub-delimiters that need no XML escape are
/// percent-encoded, so the result is safe in XML text and JSON alike.
pub(crate) fn uri_path(w: &mut dyn Text, path: &str) -> fmt::Result {
    let mut start = 0;
    for (i, b) in path.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            continue;
        }
        // `i` is at an ASCII byte or inside a multi-byte character: write the kept run
        // before it byte-wise through `get`, which fails only off char boundaries.
        if let Some(run) = path.get(start..i) {
            w.write_str(run)?;
        }
        w.write_str("%")?;
        hex(w, &[b], b"0123456789ABCDEF")?;
        start = i + 1;
    }
    w.write_str(path.get(start..).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn with(f: impl Fn(&mut dyn Text) -> fmt::Result) -> String {
        let mut s = String::new();
        f(&mut s).unwrap();
        s
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_controls_and_line_separators() {
        let s = with(|w| json_string(w, "a\"b\\c\n\u{1}\u{2028}\u{2029}\u{7f}é"));
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001\\u2028\\u2029\\u007fé\"");
        let back: std::string::String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{1}\u{2028}\u{2029}\u{7f}é");
    }

    proptest::proptest! {
        #[test]
        fn any_text_comes_back_from_its_json_string(text in ".*", raw in proptest::collection::vec(proptest::char::any(), 0..40)) {
            for s in [text, raw.into_iter().collect::<String>()] {
                let json = with(|w| json_string(w, &s));
                let back: String = serde_json::from_str(&json).unwrap();
                proptest::prop_assert_eq!(&back, &s);
                let separators = json.contains(['\u{2028}', '\u{2029}']);
                proptest::prop_assert!(!separators);
                proptest::prop_assert!(!json.bytes().any(|b| b < 0x20 || b == 0x7f));
            }
        }
    }

    #[cfg(feature = "http-full")]
    #[test]
    fn xml_text_escapes_markup_and_replaces_characters_xml_cannot_carry() {
        let s = with(|w| xml_text(w, "<a href=\"x\">&'\r\t\n\u{1}\u{fffe}"));
        assert_eq!(s, "&lt;a href=\"x\"&gt;&amp;'&#13;\t\n\u{fffd}\u{fffd}");
    }

    #[test]
    fn hrefs_percent_encode_spaces_percent_signs_markup_and_non_ascii() {
        let s = with(|w| uri_path(w, "/a b/%/<&>/é/c;d=e"));
        assert_eq!(s, "/a%20b/%25/%3C%26%3E/%C3%A9/c;d=e");
    }

    #[test]
    fn a_too_small_buffer_reports_the_size_needed() {
        let mut buf = [0u8; 4];
        let r = render_into(&mut buf, |w| w.write_str("0123456789"));
        assert_eq!(r, Err(BufferTooSmall { needed: 10 }));
        let mut buf = [0u8; 10];
        assert_eq!(render_into(&mut buf, |w| w.write_str("0123456789")), Ok(10));
    }
}
