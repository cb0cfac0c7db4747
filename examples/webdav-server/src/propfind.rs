//! PROPFIND answers as RFC 4918 §9.1 wants them for a `DAV:prop` request: every
//! requested property appears in each `DAV:response`, those the resource does not have
//! under `404 Not Found`, and no property that was not asked for.
//!
//! dav-server 0.11 (`PropWriter::write_props`) keeps only the properties it found (so a
//! removed dead property vanishes from the answer, which litmus `props` reports as
//! "Property omitted from results with no status") and appends every dead property of
//! the resource, asked for or not, the asked ones twice. This module completes the
//! multistatus body on its way out; `allprop` and `propname` answers pass unchanged.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const DAV: &[u8] = b"DAV:";
/// The largest PROPFIND request body read.
const MAX_REQUEST: usize = 1 << 20;
/// The largest multistatus answer completed; a larger one is refused rather than kept
/// in memory.
const MAX_MULTISTATUS: usize = 64 << 20;

/// An element name with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    namespace: Vec<u8>,
    local: Vec<u8>,
}

impl Name {
    fn is_dav(&self, local: &[u8]) -> bool {
        self.namespace == DAV && self.local == local
    }
}

fn resolved(namespace: ResolveResult<'_>, local: &[u8]) -> Name {
    let namespace = match namespace {
        ResolveResult::Bound(ns) => ns.0.to_vec(),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => Vec::new(),
    };
    Name {
        namespace,
        local: local.to_vec(),
    }
}

/// The properties a PROPFIND asked for by name.
#[derive(Debug)]
pub struct Expectation {
    requested: Vec<Name>,
}

impl Expectation {
    /// Reads the body of a PROPFIND (handing back an equal request) and notes the
    /// properties it names; `None` for other methods and other PROPFIND forms.
    pub async fn of(request: Request) -> Result<(Request, Option<Expectation>), Response> {
        if request.method().as_str() != "PROPFIND" {
            return Ok((request, None));
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_REQUEST).await else {
            return Err(
                (StatusCode::PAYLOAD_TOO_LARGE, "PROPFIND body too large\n").into_response()
            );
        };
        let expectation = requested_properties(&bytes).map(|requested| Expectation { requested });
        Ok((Request::from_parts(parts, Body::from(bytes)), expectation))
    }

    /// The answer with its multistatus completed.
    pub async fn complete(
        self,
        response: axum::http::Response<dav_server::body::Body>,
    ) -> Response {
        if response.status() != StatusCode::MULTI_STATUS {
            return response.into_response();
        }
        let (mut parts, body) = response.into_parts();
        let Ok(bytes) = to_bytes(Body::new(body), MAX_MULTISTATUS).await else {
            return (
                StatusCode::INSUFFICIENT_STORAGE,
                "PROPFIND answer too large\n",
            )
                .into_response();
        };
        let body = match complete_multistatus(&bytes, &self.requested) {
            Some(completed) => Bytes::from(completed),
            // Not a multistatus this module understands: sent as dav-server wrote it.
            None => bytes,
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(body))
    }
}

/// The children of `DAV:propfind/DAV:prop`, or `None` when the body is not a `prop`
/// request (dav-server answers malformed bodies itself).
fn requested_properties(body: &[u8]) -> Option<Vec<Name>> {
    let mut reader = NsReader::from_reader(body);
    let mut open: Vec<Name> = Vec::new();
    let mut requested = Vec::new();
    let mut by_name = false;
    loop {
        let (namespace, event) = reader.read_resolved_event().ok()?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = resolved(namespace, e.local_name().as_ref());
                match open.as_slice() {
                    [] if !name.is_dav(b"propfind") => return None,
                    [root] if root.is_dav(b"propfind") && name.is_dav(b"prop") => by_name = true,
                    [root, prop] if root.is_dav(b"propfind") && prop.is_dav(b"prop") => {
                        requested.push(name.clone());
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    open.push(name);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (by_name && open.is_empty()).then_some(requested)
}

/// A parsed element, kept as written so that it can be written back.
#[derive(Debug)]
struct Element {
    start: BytesStart<'static>,
    name: Name,
    children: Vec<Item>,
}

#[derive(Debug)]
enum Item {
    Element(Element),
    Other(Event<'static>),
}

fn parse(body: &[u8]) -> Option<Vec<Item>> {
    let mut reader = NsReader::from_reader(body);
    let mut open: Vec<Element> = Vec::new();
    let mut top = Vec::new();
    loop {
        let (namespace, event) = reader.read_resolved_event().ok()?;
        let item = match event {
            Event::Start(e) => {
                let name = resolved(namespace, e.local_name().as_ref());
                open.push(Element {
                    start: e.into_owned(),
                    name,
                    children: Vec::new(),
                });
                continue;
            }
            Event::Empty(e) => {
                let name = resolved(namespace, e.local_name().as_ref());
                Item::Element(Element {
                    start: e.into_owned(),
                    name,
                    children: Vec::new(),
                })
            }
            Event::End(_) => Item::Element(open.pop()?),
            Event::Eof => break,
            other => Item::Other(other.into_owned()),
        };
        match open.last_mut() {
            Some(parent) => parent.children.push(item),
            None => top.push(item),
        }
    }
    open.is_empty().then_some(top)
}

fn complete_multistatus(body: &[u8], requested: &[Name]) -> Option<Vec<u8>> {
    let mut items = parse(body)?;
    let root = items.iter_mut().find_map(|item| match item {
        Item::Element(e) => Some(e),
        Item::Other(_) => None,
    })?;
    if !root.name.is_dav(b"multistatus") {
        return None;
    }
    for child in &mut root.children {
        if let Item::Element(response) = child
            && response.name.is_dav(b"response")
        {
            complete_response(response, requested);
        }
    }
    let mut writer = Writer::new(Vec::new());
    for item in items {
        write(&mut writer, item).ok()?;
    }
    Some(writer.into_inner())
}

/// Keeps each requested property once, drops the others, and adds a `404` propstat
/// for the requested properties no propstat holds.
fn complete_response(response: &mut Element, requested: &[Name]) {
    let mut shown: Vec<Name> = Vec::new();
    let mut children = Vec::new();
    let mut insert_at = None;
    for item in std::mem::take(&mut response.children) {
        match item {
            Item::Element(mut propstat) if propstat.name.is_dav(b"propstat") => {
                let mut kept = 0;
                for part in &mut propstat.children {
                    if let Item::Element(prop) = part
                        && prop.name.is_dav(b"prop")
                    {
                        prop.children.retain(|p| match p {
                            Item::Element(p)
                                if requested.contains(&p.name) && !shown.contains(&p.name) =>
                            {
                                shown.push(p.name.clone());
                                true
                            }
                            Item::Element(_) => false,
                            Item::Other(_) => true,
                        });
                        kept += prop
                            .children
                            .iter()
                            .filter(|p| matches!(p, Item::Element(_)))
                            .count();
                    }
                }
                if kept > 0 {
                    children.push(Item::Element(propstat));
                }
                insert_at = Some(children.len());
            }
            Item::Element(href) if href.name.is_dav(b"href") => {
                children.push(Item::Element(href));
                insert_at = insert_at.or(Some(children.len()));
            }
            other => children.push(other),
        }
    }
    let missing: Vec<&Name> = requested
        .iter()
        .filter(|name| !shown.contains(name))
        .collect();
    // A response that carries a status instead of propstats says why nothing is shown.
    let has_status = children
        .iter()
        .any(|c| matches!(c, Item::Element(e) if e.name.is_dav(b"status")));
    if let (Some(at), false, false) = (insert_at, missing.is_empty(), has_status) {
        children.insert(at.min(children.len()), Item::Element(not_found(&missing)));
    }
    response.children = children;
}

/// `<D:propstat><D:prop>…</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`
fn not_found(names: &[&Name]) -> Element {
    let dav = |local: &str| Name {
        namespace: DAV.to_vec(),
        local: local.as_bytes().to_vec(),
    };
    let props = names
        .iter()
        .map(|name| {
            let local = String::from_utf8_lossy(&name.local).into_owned();
            let namespace = String::from_utf8_lossy(&name.namespace).into_owned();
            let start = if namespace.is_empty() {
                BytesStart::new(local).with_attributes([("xmlns", "")])
            } else {
                BytesStart::new(format!("p:{local}"))
                    .with_attributes([("xmlns:p", namespace.as_str())])
            };
            Item::Element(Element {
                start,
                name: (*name).clone(),
                children: Vec::new(),
            })
        })
        .collect();
    let status = Element {
        start: BytesStart::new("D:status"),
        name: dav("status"),
        children: vec![Item::Other(Event::Text(BytesText::new(
            "HTTP/1.1 404 Not Found",
        )))],
    };
    let prop = Element {
        start: BytesStart::new("D:prop"),
        name: dav("prop"),
        children: props,
    };
    Element {
        start: BytesStart::new("D:propstat").with_attributes([("xmlns:D", "DAV:")]),
        name: dav("propstat"),
        children: vec![Item::Element(prop), Item::Element(status)],
    }
}

fn write(writer: &mut Writer<Vec<u8>>, item: Item) -> std::io::Result<()> {
    match item {
        Item::Other(event) => writer.write_event(event),
        Item::Element(e) if e.children.is_empty() => writer.write_event(Event::Empty(e.start)),
        Item::Element(e) => {
            let end = BytesEnd::new(String::from_utf8_lossy(e.start.name().as_ref()).into_owned());
            writer.write_event(Event::Start(e.start))?;
            for child in e.children {
                write(writer, child)?;
            }
            writer.write_event(Event::End(end))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(namespace: &str, local: &str) -> Name {
        Name {
            namespace: namespace.as_bytes().to_vec(),
            local: local.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_prop_request_names_its_properties_with_their_namespaces() {
        let body = br#"<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/><x:color xmlns:x="urn:c"/><nons xmlns=""/></prop></propfind>"#;
        assert_eq!(
            requested_properties(body),
            Some(vec![
                name("DAV:", "getetag"),
                name("urn:c", "color"),
                name("", "nons")
            ])
        );
    }

    #[test]
    fn allprop_and_propname_requests_are_left_alone() {
        assert_eq!(
            requested_properties(br#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#),
            None
        );
        assert_eq!(
            requested_properties(br#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#),
            None
        );
        assert_eq!(requested_properties(b"<other/>"), None);
        assert_eq!(
            requested_properties(b"<D:propfind xmlns:D='DAV:'><D:prop>"),
            None
        );
    }

    #[test]
    fn a_missing_property_is_answered_404_and_an_unrequested_one_is_dropped() {
        let answer = br#"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href><D:propstat><D:prop><D:getetag>"x"</D:getetag><z:other xmlns:z="urn:z">1</z:other><D:getetag>"x"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        let requested = [
            name("DAV:", "getetag"),
            name("urn:c", "color"),
            name("", "nons"),
        ];
        let completed =
            String::from_utf8(complete_multistatus(answer, &requested).unwrap()).unwrap();
        assert_eq!(
            completed.matches("getetag>").count(),
            2,
            "one getetag element: {completed}"
        );
        assert!(!completed.contains("other"), "{completed}");
        assert!(
            completed.contains(r#"<p:color xmlns:p="urn:c"/>"#),
            "{completed}"
        );
        assert!(completed.contains(r#"<nons xmlns=""/>"#), "{completed}");
        assert!(completed.contains("HTTP/1.1 404 Not Found"), "{completed}");
        // Still well-formed, with every name resolvable.
        let mut reread = parse(completed.as_bytes()).unwrap();
        let Some(Item::Element(root)) = reread.iter_mut().find(|i| matches!(i, Item::Element(_)))
        else {
            panic!("no root")
        };
        assert!(root.name.is_dav(b"multistatus"));
    }

    #[test]
    fn a_response_with_only_missing_properties_gets_a_404_propstat() {
        let answer = br#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href></D:response></D:multistatus>"#;
        let completed =
            String::from_utf8(complete_multistatus(answer, &[name("urn:c", "gone")]).unwrap())
                .unwrap();
        assert!(
            completed.contains(r#"<D:href>/a</D:href><D:propstat xmlns:D="DAV:"><D:prop><p:gone xmlns:p="urn:c"/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>"#),
            "{completed}"
        );
    }
}
