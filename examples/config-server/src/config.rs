//! The device configuration: named sections, each a JSON object, with strong ETags.
//!
//! The document is kept parsed for edits and rendered once per change, so that a read
//! serves prepared bytes and their ETag (RFC 9110 §8.8.3: a strong validator changes
//! whenever the representation's bytes change, which a hash of those bytes guarantees).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The configuration a device ships with, served when no data directory holds another.
pub const EMBEDDED_DEFAULT: &str = include_str!("default-config.json");

/// The longest section name, in bytes.
pub const MAX_SECTION_NAME: usize = 64;
/// The most sections a document may have: a `LOCK` on an unmapped URL creates one, and a
/// flood of those must not grow the document without bound.
pub const MAX_SECTIONS: usize = 64;

/// Bounds on the stored document, so that no sequence of writes can fill a device's
/// flash or make every write slower than the last (each store renders, hashes and syncs
/// the whole document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most bytes of the stored document (`/config` as served).
    pub document_bytes: usize,
    /// Most bytes of one section as served.
    pub section_bytes: usize,
    /// Deepest nesting of objects and arrays in a section; the section is level 1.
    pub depth: usize,
}

impl StoreLimits {
    /// 256 KiB in all, 64 KiB per section, 16 levels: sized for a device's flash.
    pub const DEFAULT: StoreLimits = StoreLimits {
        document_bytes: 256 * 1024,
        section_bytes: 64 * 1024,
        depth: 16,
    };
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits::DEFAULT
    }
}

/// A configuration document: an object whose members are sections, each an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDocument {
    sections: Map<String, Value>,
}

/// Why a stored or embedded document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// The top level is not an object.
    #[error("the top level is not a JSON object")]
    NotAnObject,
    /// A section is not an object.
    #[error("section {0:?} is not a JSON object")]
    SectionNotAnObject(String),
    /// A section name is not one this server can address.
    #[error(
        "section name {0:?} is not a valid name (ASCII letters, digits, '-', '_', at most 64 bytes)"
    )]
    BadSectionName(String),
}

/// Why an edit of a section was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// No section of that name exists.
    UnknownSection,
    /// The result would not be a JSON object.
    NotAnObject,
    /// The document already has [`MAX_SECTIONS`] sections.
    TooManySections,
    /// The section would be nested deeper than [`StoreLimits::depth`].
    TooDeep {
        /// The limit, in levels.
        limit: usize,
    },
    /// The section would be larger than [`StoreLimits::section_bytes`].
    SectionTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The document would be larger than [`StoreLimits::document_bytes`].
    DocumentTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::UnknownSection => f.write_str("no configuration section has this name"),
            EditError::NotAnObject => f.write_str("a configuration section must be a JSON object"),
            EditError::TooManySections => {
                write!(f, "the configuration already has {MAX_SECTIONS} sections")
            }
            EditError::TooDeep { limit } => {
                write!(
                    f,
                    "a section may nest objects and arrays {limit} levels deep"
                )
            }
            EditError::SectionTooLarge { limit } => {
                write!(f, "a section may take at most {limit} bytes as stored")
            }
            EditError::DocumentTooLarge { limit } => {
                write!(
                    f,
                    "the configuration may take at most {limit} bytes as stored"
                )
            }
        }
    }
}

impl std::error::Error for EditError {}

/// Whether `name` can name a section: non-empty ASCII letters, digits, `-` and `_`.
pub fn is_section_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SECTION_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ConfigDocument {
    /// The embedded default configuration.
    pub fn embedded_default() -> Result<Self, DocumentError> {
        Self::from_json(EMBEDDED_DEFAULT.as_bytes())
    }

    /// Parses and checks a document: an object of objects with addressable names.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DocumentError> {
        let Value::Object(sections) = serde_json::from_slice(bytes)? else {
            return Err(DocumentError::NotAnObject);
        };
        for (name, value) in &sections {
            if !is_section_name(name) {
                return Err(DocumentError::BadSectionName(name.clone()));
            }
            if !value.is_object() {
                return Err(DocumentError::SectionNotAnObject(name.clone()));
            }
        }
        Ok(ConfigDocument { sections })
    }

    /// The whole document as pretty JSON, as stored and served.
    pub fn to_json(&self) -> Vec<u8> {
        render(&Value::Object(self.sections.clone()))
    }

    /// The section names, in order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    /// One section.
    pub fn section(&self, name: &str) -> Option<&Value> {
        self.sections.get(name)
    }

    /// Replaces a section with `value` (PUT), within `limits`.
    pub fn replace(
        &mut self,
        name: &str,
        value: Value,
        limits: &StoreLimits,
    ) -> Result<(), EditError> {
        if !self.sections.contains_key(name) {
            return Err(EditError::UnknownSection);
        }
        if !value.is_object() {
            return Err(EditError::NotAnObject);
        }
        self.put_within(name, value, limits)
    }

    /// Applies a JSON Merge Patch (RFC 7396) to a section (PATCH), within `limits`. A
    /// patch that is not an object replaces the target whole (RFC 7396 §2), which leaves
    /// no object: refused.
    pub fn merge(
        &mut self,
        name: &str,
        patch: &Value,
        limits: &StoreLimits,
    ) -> Result<(), EditError> {
        let mut merged = self
            .sections
            .get(name)
            .ok_or(EditError::UnknownSection)?
            .clone();
        json_patch::merge(&mut merged, patch);
        if !merged.is_object() {
            return Err(EditError::NotAnObject);
        }
        self.put_within(name, merged, limits)
    }

    /// Creates an empty section unless one of that name exists (`Ok(false)`). A `LOCK` on
    /// an unmapped URL creates an empty resource (RFC 4918 §7.3).
    pub fn create_empty(&mut self, name: &str, limits: &StoreLimits) -> Result<bool, EditError> {
        if self.sections.contains_key(name) {
            return Ok(false);
        }
        if self.sections.len() >= MAX_SECTIONS {
            return Err(EditError::TooManySections);
        }
        self.put_within(name, Value::Object(Map::new()), limits)?;
        Ok(true)
    }

    /// Sets section `name` to `value` unless that breaks a limit; then nothing changes.
    /// A change that makes nothing larger is always allowed, so that a document stored
    /// under larger limits can still be trimmed.
    fn put_within(
        &mut self,
        name: &str,
        value: Value,
        limits: &StoreLimits,
    ) -> Result<(), EditError> {
        if depth(&value) > limits.depth {
            return Err(EditError::TooDeep {
                limit: limits.depth,
            });
        }
        let section_size = stored_size(&value);
        let before_size = self.sections.get(name).map_or(0, stored_size);
        if section_size > limits.section_bytes && section_size > before_size {
            return Err(EditError::SectionTooLarge {
                limit: limits.section_bytes,
            });
        }
        let document_before = stored_size(&self.sections);
        let previous = self.sections.insert(name.to_owned(), value);
        let document_after = stored_size(&self.sections);
        if document_after > limits.document_bytes && document_after > document_before {
            match previous {
                Some(previous) => self.sections.insert(name.to_owned(), previous),
                None => self.sections.remove(name),
            };
            return Err(EditError::DocumentTooLarge {
                limit: limits.document_bytes,
            });
        }
        Ok(())
    }

    /// The size of the document as stored, in bytes.
    pub fn stored_size(&self) -> usize {
        stored_size(&self.sections)
    }
}

/// The nesting depth of a value: 0 for a scalar, 1 for an object or array of scalars.
/// Parsing already bounds the recursion (serde_json refuses 128 levels).
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The bytes `value` takes as [`render`] writes it, counted without writing them.
fn stored_size(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Counting cannot fail; the trailing newline is render's.
    let _ = serde_json::to_writer_pretty(&mut count, value);
    count.0 + 1
}

/// A representation ready to send: its bytes and its strong ETag.
#[derive(Debug, Clone)]
pub struct Representation {
    /// The body, `application/json`.
    pub body: Bytes,
    /// The strong entity tag, quoted (`"…"`).
    pub etag: Arc<str>,
}

impl Representation {
    /// The representation of a section or document.
    pub fn of(value: &Value) -> Self {
        let body = render(value);
        let etag = etag_of(&body);
        Representation {
            body: Bytes::from(body),
            etag,
        }
    }
}

/// The document and the representations rendered from it at its last change.
#[derive(Debug, Clone)]
pub struct RenderedDocument {
    document: ConfigDocument,
    whole: Representation,
    sections: BTreeMap<String, Representation>,
}

impl RenderedDocument {
    /// Renders every representation of `document`.
    pub fn new(document: ConfigDocument) -> Self {
        let whole = Representation::of(&Value::Object(document.sections.clone()));
        let sections = document
            .sections
            .iter()
            .map(|(k, v)| (k.clone(), Representation::of(v)))
            .collect();
        RenderedDocument {
            document,
            whole,
            sections,
        }
    }

    /// The document.
    pub fn document(&self) -> &ConfigDocument {
        &self.document
    }

    /// `/config` as served.
    pub fn whole(&self) -> &Representation {
        &self.whole
    }

    /// `/config/{name}` as served.
    pub fn section(&self, name: &str) -> Option<&Representation> {
        self.sections.get(name)
    }

    /// The stored form of the document: the bytes of `/config`.
    pub fn stored_bytes(&self) -> &Bytes {
        &self.whole.body
    }
}

fn render(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: its keys are strings and its numbers finite.
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// A strong ETag for these bytes: the first 128 bits of their SHA-256, quoted.
pub fn etag_of(bytes: &[u8]) -> Arc<str> {
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag.push('"');
    tag.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> ConfigDocument {
        ConfigDocument::embedded_default().unwrap()
    }

    #[test]
    fn embedded_default_is_an_object_of_objects() {
        let d = doc();
        for name in ["network", "wifi", "display", "time", "firmware-update"] {
            assert!(d.section(name).unwrap().is_object(), "{name}");
        }
    }

    #[test]
    fn stored_form_parses_back_to_the_same_document() {
        let d = doc();
        assert_eq!(ConfigDocument::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn a_document_whose_section_is_not_an_object_is_refused() {
        let err = ConfigDocument::from_json(br#"{"wifi": 3}"#).unwrap_err();
        assert!(matches!(err, DocumentError::SectionNotAnObject(ref n) if n == "wifi"));
        assert!(matches!(
            ConfigDocument::from_json(b"[]"),
            Err(DocumentError::NotAnObject)
        ));
        assert!(matches!(
            ConfigDocument::from_json(b"{"),
            Err(DocumentError::Syntax(_))
        ));
        assert!(matches!(
            ConfigDocument::from_json(br#"{"a/b": {}}"#),
            Err(DocumentError::BadSectionName(_))
        ));
    }

    #[test]
    fn replace_needs_an_existing_section_and_an_object() {
        let mut d = doc();
        assert_eq!(
            d.replace("nope", json!({}), &StoreLimits::DEFAULT),
            Err(EditError::UnknownSection)
        );
        assert_eq!(
            d.replace("wifi", json!([1]), &StoreLimits::DEFAULT),
            Err(EditError::NotAnObject)
        );
        d.replace("wifi", json!({"ssid": "x"}), &StoreLimits::DEFAULT)
            .unwrap();
        assert_eq!(d.section("wifi"), Some(&json!({"ssid": "x"})));
    }

    #[test]
    fn merge_follows_rfc_7396_null_removes_and_objects_recurse() {
        let mut d = doc();
        d.merge(
            "network",
            &json!({"mtu": null, "ipv4": {"gateway": "10.0.0.1"}, "new": 1}),
            &StoreLimits::DEFAULT,
        )
        .unwrap();
        let n = d.section("network").unwrap();
        assert!(n.get("mtu").is_none());
        assert_eq!(n["ipv4"]["gateway"], "10.0.0.1");
        assert_eq!(n["ipv4"]["netmask"], "255.255.255.0");
        assert_eq!(n["new"], 1);
        assert_eq!(
            d.merge("network", &json!("x"), &StoreLimits::DEFAULT),
            Err(EditError::NotAnObject)
        );
        assert_eq!(
            d.merge("nope", &json!({}), &StoreLimits::DEFAULT),
            Err(EditError::UnknownSection)
        );
    }

    #[test]
    fn etag_changes_with_the_bytes_and_only_with_them() {
        let a = RenderedDocument::new(doc());
        let b = RenderedDocument::new(doc());
        assert_eq!(
            a.section("wifi").unwrap().etag,
            b.section("wifi").unwrap().etag
        );
        let mut d = doc();
        d.merge("wifi", &json!({"channel": 11}), &StoreLimits::DEFAULT)
            .unwrap();
        let c = RenderedDocument::new(d);
        assert_ne!(
            a.section("wifi").unwrap().etag,
            c.section("wifi").unwrap().etag
        );
        assert_eq!(
            a.section("display").unwrap().etag,
            c.section("display").unwrap().etag
        );
        assert_ne!(a.whole().etag, c.whole().etag);
        assert!(a.whole().etag.starts_with('"') && a.whole().etag.len() == 34);
    }

    #[test]
    fn new_sections_stop_at_the_maximum() {
        let mut d = doc();
        assert_eq!(d.create_empty("wifi", &StoreLimits::DEFAULT), Ok(false));
        let mut created = 0;
        while d.create_empty(&format!("s{created}"), &StoreLimits::DEFAULT) == Ok(true) {
            created += 1;
        }
        assert_eq!(d.section_names().count(), MAX_SECTIONS);
        assert_eq!(
            d.create_empty("one-more", &StoreLimits::DEFAULT),
            Err(EditError::TooManySections)
        );
        assert!(created > 0);
    }

    #[test]
    fn section_names_are_plain_ascii_words() {
        assert!(is_section_name("firmware-update"));
        assert!(!is_section_name(""));
        assert!(!is_section_name("a b"));
        assert!(!is_section_name(&"a".repeat(65)));
    }
}
