//! Properties of the protocol layer over generated input: printing then parsing an
//! `If` header gives it back, no parser panics on any bytes, any owner text survives
//! the JSON and XML bodies, and the whole check is total.
#![cfg(feature = "http-full")]

use lockwarden::http::{
    BodyFormat, Condition, DepthHeader, Disclosure, EntityTag, IfHeader, MAX_CONDITIONS, MAX_LISTS,
    Method, Request, Subject, TimeType, XmlText, check, parse_lock_token, parse_overwrite,
    parse_timeout, uri_path_of,
};
use lockwarden::{Depth, Instant, LockRequest, LockTable, Path, Policy, Scope};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum GenSubject {
    Token(String),
    ETag(bool, String),
}

#[derive(Debug, Clone)]
struct GenList {
    tag: Option<String>,
    conditions: Vec<(bool, GenSubject)>,
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        Just("DAV:no-lock".to_string()),
        "[a-z][a-z0-9+.-]{0,6}:[!#-;=?-~]{0,20}",
    ]
}

fn subject() -> impl Strategy<Value = GenSubject> {
    prop_oneof![
        uri().prop_map(GenSubject::Token),
        (any::<bool>(), "[!#-~]{0,12}").prop_map(|(weak, opaque)| GenSubject::ETag(weak, opaque)),
    ]
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[a-z0-9/%._-]{0,16}",
        "https?://[a-z.]{1,8}(:[0-9]{1,4})?(/[a-z0-9._-]{0,8}){0,3}"
    ]
}

/// Headers within the maxima: all tagged or all untagged.
fn header() -> impl Strategy<Value = Vec<GenList>> {
    (any::<bool>(), 1..=MAX_LISTS).prop_flat_map(|(tagged, lists)| {
        let per_list = (MAX_CONDITIONS / lists).max(1);
        let tag = if tagged {
            tag().prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        };
        proptest::collection::vec(
            (
                tag,
                proptest::collection::vec((any::<bool>(), subject()), 1..=per_list),
            )
                .prop_map(|(tag, conditions)| GenList { tag, conditions }),
            lists,
        )
    })
}

fn print(lists: &[GenList]) -> String {
    let mut out = String::new();
    for list in lists {
        if let Some(tag) = &list.tag {
            out += &format!("<{tag}> ");
        }
        out += "(";
        for (i, (not, subject)) in list.conditions.iter().enumerate() {
            if i > 0 {
                out += " ";
            }
            if *not {
                out += "Not ";
            }
            match subject {
                GenSubject::Token(uri) => out += &format!("<{uri}>"),
                GenSubject::ETag(weak, opaque) => {
                    out += &format!("[{}\"{opaque}\"]", if *weak { "W/" } else { "" })
                }
            }
        }
        out += ") ";
    }
    out
}

fn same(parsed: &IfHeader<'_>, generated: &[GenList]) -> bool {
    let lists: Vec<_> = parsed.lists().collect();
    lists.len() == generated.len()
        && lists.iter().zip(generated).all(|(l, g)| {
            l.resource == g.tag.as_deref()
                && l.conditions.len() == g.conditions.len()
                && l.conditions.iter().zip(&g.conditions).all(|(c, (not, s))| {
                    let expected = match s {
                        GenSubject::Token(uri) => Subject::StateToken(uri),
                        GenSubject::ETag(weak, opaque) => Subject::ETag(EntityTag {
                            weak: *weak,
                            opaque,
                        }),
                    };
                    *c == Condition {
                        not: *not,
                        subject: expected,
                    }
                })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printing_then_parsing_an_if_header_gives_it_back(lists in header()) {
        let text = print(&lists);
        let parsed = IfHeader::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert!(same(&parsed, &lists), "{}", text);
        let printed = parsed.to_string();
        prop_assert_eq!(IfHeader::parse(&printed).unwrap(), parsed);
    }

    #[test]
    fn no_header_parser_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(h) = IfHeader::parse(&bytes) {
            let again = h.to_string();
            prop_assert_eq!(IfHeader::parse(&again).unwrap(), h);
        }
        let _ = parse_timeout(&bytes);
        let _ = parse_lock_token(&bytes);
        let _ = DepthHeader::parse(&bytes);
        let _ = parse_overwrite(&bytes);
        let _ = uri_path_of(&bytes);
        let _ = BodyFormat::negotiate(Method::Put, Some(&bytes));
        let _ = Method::parse(&bytes);
    }

    #[test]
    fn no_header_parser_panics_on_near_valid_text(text in "[()<>\\[\\]\" \t,NotW/urn:uid0-9a-fSecondIfity-]{0,64}") {
        let _ = IfHeader::parse(&text);
        let _ = parse_timeout(text.as_bytes());
        let _ = parse_lock_token(text.as_bytes());
        let _ = DepthHeader::parse(text.as_bytes());
    }

    #[test]
    fn timeout_seconds_clamp_at_the_largest_value_rfc_4918_allows(digits in "[0-9]{1,40}") {
        let header = format!("Second-{digits}");
        let expected = digits.parse::<u128>().map_or(u32::MAX, |n| n.min(u128::from(u32::MAX)) as u32);
        prop_assert_eq!(parse_timeout(header.as_bytes()), Ok(TimeType::Seconds(expected)));
    }

    #[test]
    fn any_owner_text_comes_back_from_json_and_xml(owner in "\\PC{0,40}") {
        let mut table: LockTable<4, 64, 256> = LockTable::new(Policy::new(1000));
        table.seed_tokens([1; 16]);
        // A text owner is kept as markup (its XML escape) and reads back as the same text.
        let markup = XmlText(&owner).to_string();
        let lock = Request::new(Method::Lock, b"/x").lockinfo(Scope::Exclusive, &markup);
        let granted = check(&mut table, Instant(0), &lock);
        let mut buf = vec![0u8; 8192];
        let n = granted.body_into(&mut buf, Disclosure::default()).unwrap();
        let xml = std::str::from_utf8(&buf[..n]).unwrap();
        let doc = roxmltree::Document::parse(xml).map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
        let shown = doc.descendants().find(|n| n.has_tag_name(("DAV:", "owner"))).and_then(|n| n.text()).unwrap_or("");
        prop_assert_eq!(shown, owner.as_str());
        let refused = check(&mut table, Instant(0), &Request::new(Method::Put, b"/x"));
        let n = refused.body_into(&mut buf, Disclosure::default()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        // Plain text shows runs of white space as one space, trimmed.
        let text = owner.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(json["owner"].as_str().unwrap_or(""), text.as_str());
    }

    #[test]
    fn the_check_is_total_and_every_outcome_renders(
        method in prop_oneof![Just("PUT"), Just("DELETE"), Just("MOVE"), Just("COPY"), Just("LOCK"), Just("UNLOCK"), Just("GET"), Just("MKCOL")],
        target in "(/[a-z%.]{0,4}){0,4}",
        if_header in proptest::option::of("[()<>\\[\\]\" Not]{0,6}(<urn:uuid:[0-9a-f-]{0,36}>)?[() ]{0,3}"),
        timeout in proptest::option::of("(Second-[0-9]{0,12}|Infinite|[a-z,]{0,5})"),
        depth in proptest::option::of("(0|1|infinity|x)"),
        destination in proptest::option::of("(http://h)?(/[a-z.]{0,3}){0,3}"),
        exists in any::<bool>(),
        body in any::<bool>(),
        accept in proptest::option::of("(application/json|application/xml|\\*/\\*)(;q=0\\.[0-9])?"),
    ) {
        let mut table: LockTable<4, 32, 16> = LockTable::new(Policy::new(1000));
        table.seed_tokens([2; 16]);
        let a = Path::new("/a").unwrap();
        table.lock(Instant(0), &LockRequest::exclusive(&a, "o").depth(Depth::Infinity)).unwrap();
        let mut req = Request::new(Method::parse(method.as_bytes()), target.as_bytes()).resource(exists, Some("\"e\""));
        for (name, value) in [("If", &if_header), ("Timeout", &timeout), ("Depth", &depth), ("Destination", &destination), ("Accept", &accept)] {
            if let Some(v) = value {
                req = req.header(name, v.as_bytes());
            }
        }
        if body {
            req = req.lockinfo(Scope::Shared, "owner");
        }
        let outcome = check(&mut table, Instant(10), &req);
        let mut buf = vec![0u8; 4096];
        let n = outcome.response_into(&mut buf, Disclosure::default()).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status_line = format!("HTTP/1.1 {} ", outcome.status().0);
        prop_assert!(head.starts_with(&status_line));
        match outcome.content_type() {
            Some("application/problem+json") => { serde_json::from_str::<serde_json::Value>(body).unwrap(); }
            Some(_) => { roxmltree::Document::parse(body).unwrap(); }
            None => prop_assert!(body.is_empty()),
        }
    }
}
