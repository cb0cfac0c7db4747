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
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::UnknownSection => f.write_str("no configuration section has this name"),
            EditError::NotAnObject => f.write_str("a configuration section must be a JSON object"),
            EditError::TooManySections => {
                write!(f, "the configuration already has {MAX_SECTIONS} sections")
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

    /// Replaces a section with `value` (PUT).
    pub fn replace(&mut self, name: &str, value: Value) -> Result<(), EditError> {
        let slot = self
            .sections
            .get_mut(name)
            .ok_or(EditError::UnknownSection)?;
        if !value.is_object() {
            return Err(EditError::NotAnObject);
        }
        *slot = value;
        Ok(())
    }

    /// Applies a JSON Merge Patch (RFC 7396) to a section (PATCH). A patch that is not an
    /// object replaces the target whole (RFC 7396 §2), which leaves no object: refused.
    pub fn merge(&mut self, name: &str, patch: &Value) -> Result<(), EditError> {
        let slot = self
            .sections
            .get_mut(name)
            .ok_or(EditError::UnknownSection)?;
        let mut merged = slot.clone();
        json_patch::merge(&mut merged, patch);
        if !merged.is_object() {
            return Err(EditError::NotAnObject);
        }
        *slot = merged;
        Ok(())
    }

    /// Creates an empty section unless one of that name exists (`Ok(false)`). A `LOCK` on
    /// an unmapped URL creates an empty resource (RFC 4918 §7.3).
    pub fn create_empty(&mut self, name: &str) -> Result<bool, EditError> {
        if self.sections.contains_key(name) {
            return Ok(false);
        }
        if self.sections.len() >= MAX_SECTIONS {
            return Err(EditError::TooManySections);
        }
        self.sections
            .insert(name.to_owned(), Value::Object(Map::new()));
        Ok(true)
    }
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
        assert_eq!(d.replace("nope", json!({})), Err(EditError::UnknownSection));
        assert_eq!(d.replace("wifi", json!([1])), Err(EditError::NotAnObject));
        d.replace("wifi", json!({"ssid": "x"})).unwrap();
        assert_eq!(d.section("wifi"), Some(&json!({"ssid": "x"})));
    }

    #[test]
    fn merge_follows_rfc_7396_null_removes_and_objects_recurse() {
        let mut d = doc();
        d.merge(
            "network",
            &json!({"mtu": null, "ipv4": {"gateway": "10.0.0.1"}, "new": 1}),
        )
        .unwrap();
        let n = d.section("network").unwrap();
        assert!(n.get("mtu").is_none());
        assert_eq!(n["ipv4"]["gateway"], "10.0.0.1");
        assert_eq!(n["ipv4"]["netmask"], "255.255.255.0");
        assert_eq!(n["new"], 1);
        assert_eq!(d.merge("network", &json!("x")), Err(EditError::NotAnObject));
        assert_eq!(d.merge("nope", &json!({})), Err(EditError::UnknownSection));
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
        d.merge("wifi", &json!({"channel": 11})).unwrap();
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
        assert_eq!(d.create_empty("wifi"), Ok(false));
        let mut created = 0;
        while d.create_empty(&format!("s{created}")) == Ok(true) {
            created += 1;
        }
        assert_eq!(d.section_names().count(), MAX_SECTIONS);
        assert_eq!(d.create_empty("one-more"), Err(EditError::TooManySections));
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
