//! The device's configuration: three sections kept in RAM as JSON documents, each with a
//! version for its entity tag. With the `serve-json` feature a new document is read into
//! the section's type by serde-json-core, checked, and stored as serde-json-core writes it
//! back; without it, any body is stored as sent (the size report's middle step).

use core::cell::RefCell;

use critical_section::Mutex;

/// The room each section's document has.
pub const DOCUMENT_LEN: usize = 192;

/// A configuration section, served at `/config/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Network,
    Wifi,
    Display,
}

impl Section {
    /// Every section, in the order `/config` lists them.
    pub const ALL: [Section; 3] = [Section::Network, Section::Wifi, Section::Display];

    /// The section's name in its path.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Network => "network",
            Section::Wifi => "wifi",
            Section::Display => "display",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Why a document was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not a document of the section's shape (the reason, for the 400's detail).
    Invalid(&'static str),
    /// Longer than the section's room.
    TooLarge,
}

/// One stored document.
struct Document {
    bytes: [u8; DOCUMENT_LEN],
    len: usize,
    version: u32,
}

impl Document {
    const fn new(text: &str) -> Self {
        let mut bytes = [0u8; DOCUMENT_LEN];
        let src = text.as_bytes();
        assert!(
            src.len() <= DOCUMENT_LEN,
            "a default document fits its section"
        );
        let mut i = 0;
        while i < src.len() {
            bytes[i] = src[i];
            i += 1;
        }
        Document {
            bytes,
            len: src.len(),
            version: 1,
        }
    }

    fn json(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The configuration as it boots, as in config-server's default configuration.
static STORE: Mutex<RefCell<[Document; 3]>> = Mutex::new(RefCell::new([
    Document::new(
        r#"{"hostname":"lw-device","dhcp":true,"address":"192.168.1.50","netmask":"255.255.255.0","gateway":"192.168.1.1","mtu":1500}"#,
    ),
    Document::new(
        r#"{"enabled":true,"ssid":"workshop","security":"wpa2-psk","channel":6,"countryCode":"DE"}"#,
    ),
    Document::new(
        r#"{"brightness":70,"timeoutSeconds":30,"orientation":"landscape","theme":"dark"}"#,
    ),
]));

/// Hands `f` a section's JSON and version.
pub fn read<R>(section: Section, f: impl FnOnce(&[u8], u32) -> R) -> R {
    critical_section::with(|cs| {
        let store = STORE.borrow_ref(cs);
        let document = &store[section.index()];
        f(document.json(), document.version)
    })
}

/// The section's current version.
pub fn version(section: Section) -> u32 {
    read(section, |_, version| version)
}

/// Replaces a section's document; returns its new version.
pub fn replace(section: Section, body: &[u8]) -> Result<u32, Rejected> {
    critical_section::with(|cs| {
        let mut store = STORE.borrow_ref_mut(cs);
        let document = &mut store[section.index()];
        let mut bytes = [0u8; DOCUMENT_LEN];
        let len = canonical(section, body, &mut bytes)?;
        document.bytes = bytes;
        document.len = len;
        document.version = document.version.wrapping_add(1);
        Ok(document.version)
    })
}

/// The document as stored: read into the section's type and written back.
#[cfg(feature = "serve-json")]
fn canonical(section: Section, body: &[u8], out: &mut [u8]) -> Result<usize, Rejected> {
    use serde_json_core::{from_slice, to_slice};
    let written = match section {
        Section::Network => to_slice(&checked(from_slice::<Network<'_>>(body))?, out),
        Section::Wifi => to_slice(&checked(from_slice::<Wifi<'_>>(body))?, out),
        Section::Display => to_slice(&checked(from_slice::<Display<'_>>(body))?, out),
    };
    written.map_err(|_| Rejected::TooLarge)
}

/// Without JSON handling, any document that fits is stored as sent.
#[cfg(not(feature = "serve-json"))]
fn canonical(_section: Section, body: &[u8], out: &mut [u8]) -> Result<usize, Rejected> {
    if body.is_empty() {
        return Err(Rejected::Invalid("an empty document"));
    }
    let room = out.get_mut(..body.len()).ok_or(Rejected::TooLarge)?;
    room.copy_from_slice(body);
    Ok(body.len())
}

/// A section's rules beyond its shape.
#[cfg(feature = "serve-json")]
trait Valid {
    fn check(&self) -> Result<(), &'static str>;
}

#[cfg(feature = "serve-json")]
fn checked<T: Valid>(parsed: serde_json_core::de::Result<(T, usize)>) -> Result<T, Rejected> {
    let (value, _) = parsed.map_err(|error| Rejected::Invalid(json_error(&error)))?;
    value.check().map_err(Rejected::Invalid)?;
    Ok(value)
}

/// serde-json-core's error in words (its `Display` needs a formatter; this needs none).
#[cfg(feature = "serve-json")]
fn json_error(error: &serde_json_core::de::Error) -> &'static str {
    use serde_json_core::de::Error;
    match error {
        Error::EofWhileParsingObject
        | Error::EofWhileParsingString
        | Error::EofWhileParsingValue
        | Error::EofWhileParsingList
        | Error::EofWhileParsingNumber => "the JSON document ends early",
        Error::TrailingCharacters | Error::TrailingComma => {
            "the JSON document has trailing characters"
        }
        Error::InvalidType | Error::InvalidNumber => "a member has the wrong type",
        Error::InvalidUnicodeCodePoint => "the JSON document is not valid UTF-8",
        _ => "not a JSON object with exactly this section's members",
    }
}

/// No escapes in strings: serde-json-core lends them as sent, and they are written back as
/// they are read.
#[cfg(feature = "serve-json")]
fn plain(text: &str, most: usize) -> bool {
    !text.is_empty()
        && text.len() <= most
        && !text.contains(['\\', '"'])
        && !text.chars().any(char::is_control)
}

#[cfg(feature = "serve-json")]
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Network<'a> {
    hostname: &'a str,
    dhcp: bool,
    address: &'a str,
    netmask: &'a str,
    gateway: &'a str,
    mtu: u16,
}

#[cfg(feature = "serve-json")]
impl Valid for Network<'_> {
    fn check(&self) -> Result<(), &'static str> {
        if !plain(self.hostname, 32) {
            return Err("hostname: 1 to 32 characters, no escapes");
        }
        for address in [self.address, self.netmask, self.gateway] {
            if address.parse::<core::net::Ipv4Addr>().is_err() {
                return Err("address, netmask, gateway: dotted IPv4 addresses");
            }
        }
        if !(576..=9000).contains(&self.mtu) {
            return Err("mtu: 576 to 9000");
        }
        Ok(())
    }
}

#[cfg(feature = "serve-json")]
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Wifi<'a> {
    enabled: bool,
    ssid: &'a str,
    security: &'a str,
    channel: u8,
    country_code: &'a str,
}

#[cfg(feature = "serve-json")]
impl Valid for Wifi<'_> {
    fn check(&self) -> Result<(), &'static str> {
        if !plain(self.ssid, 32) {
            return Err("ssid: 1 to 32 characters, no escapes");
        }
        if !["open", "wpa2-psk", "wpa3-sae"].contains(&self.security) {
            return Err("security: open, wpa2-psk or wpa3-sae");
        }
        if !(1..=14).contains(&self.channel) {
            return Err("channel: 1 to 14");
        }
        if self.country_code.len() != 2
            || !self.country_code.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err("countryCode: two capital letters");
        }
        Ok(())
    }
}

#[cfg(feature = "serve-json")]
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Display<'a> {
    brightness: u8,
    timeout_seconds: u16,
    orientation: &'a str,
    theme: &'a str,
}

#[cfg(feature = "serve-json")]
impl Valid for Display<'_> {
    fn check(&self) -> Result<(), &'static str> {
        if self.brightness > 100 {
            return Err("brightness: 0 to 100");
        }
        if !["landscape", "portrait"].contains(&self.orientation) {
            return Err("orientation: landscape or portrait");
        }
        if !["dark", "light"].contains(&self.theme) {
            return Err("theme: dark or light");
        }
        Ok(())
    }
}
