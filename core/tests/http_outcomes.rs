//! Every outcome of PROTOCOL.md's table, through the one-call check on a real table,
//! with the bodies parsed back by real JSON and XML parsers.
#![cfg(feature = "http-full")]

use lockwarden::http::{BodyFormat, Disclosure, Method, Outcome, Refusal, Request, XmlText, check};
use lockwarden::{
    Depth, Duration, Instant, LockRequest, LockTable, LockToken, Path, Policy, Scope, Timeout,
};
use serde_json::Value;

type Table = LockTable<8, 64, 64>;

fn table(policy: Policy) -> Table {
    let mut t = Table::new(policy);
    t.seed_tokens([9; 16]);
    t
}

fn lock(
    t: &mut Table,
    path: &str,
    owner: &str,
    depth: Depth,
    principal: Option<&str>,
) -> LockToken {
    let p = Path::new(path).unwrap();
    let mut req = LockRequest::exclusive(&p, owner).depth(depth);
    if let Some(who) = principal {
        req = req.principal(who);
    }
    t.lock(Instant(0), &req).unwrap().token
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn render(outcome: &Outcome<64, 64>, disclosure: Disclosure) -> Response {
    let mut buf = vec![0u8; 4096];
    let n = outcome.body_into(&mut buf, disclosure).unwrap();
    Response {
        status: outcome.status().0,
        headers: outcome
            .headers()
            .map(|h| (h.name.to_string(), h.value.to_string()))
            .collect(),
        body: String::from_utf8(buf[..n].to_vec()).unwrap(),
    }
}

fn run(t: &mut Table, now: u32, req: &Request<'_>) -> (Outcome<64, 64>, Response) {
    let outcome = check(t, Instant(now), req);
    let response = render(&outcome, Disclosure::default());
    (outcome, response)
}

const DAV: &str = "DAV:";

/// The `DAV:error` body's single precondition element and its href, if any.
fn dav_error(body: &str) -> (String, Option<String>) {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(DAV));
    assert_eq!(root.tag_name().name(), "error");
    let condition = root.first_element_child().unwrap();
    let href = condition
        .children()
        .find(|n| n.has_tag_name((DAV, "href")))
        .and_then(|h| h.text())
        .map(String::from);
    (condition.tag_name().name().to_string(), href)
}

fn assert_lock_error_headers(r: &Response) {
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    assert_eq!(r.header("Lock-Token"), None);
}

#[test]
fn a_write_under_a_lock_without_its_token_is_423_with_problem_json() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "alice's laptop", Depth::Infinity, None);
    let (outcome, r) = run(
        &mut t,
        85_500,
        &Request::new(Method::Put, b"/config/network"),
    );
    assert!(matches!(outcome.refusal(), Some(Refusal::Locked { .. })));
    assert_eq!(r.status, 423);
    assert_eq!(r.header("Content-Type"), Some("application/problem+json"));
    assert_lock_error_headers(&r);
    // 180 s default timeout, 85.5 s gone: 94.5 s left, rounded up.
    assert_eq!(r.header("Retry-After"), Some("95"));
    let body = r.json();
    assert_eq!(
        body["type"],
        "https://lockwarden.dev/problems/resource-locked"
    );
    assert_eq!(body["title"], "Resource is locked");
    assert_eq!(body["status"], 423);
    assert_eq!(body["lockRoot"], "/config");
    assert_eq!(body["lockScope"], "exclusive");
    assert_eq!(body["lockDepth"], "infinity");
    assert_eq!(body["owner"], "alice's laptop");
    assert_eq!(body["expiresInSeconds"], 95);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("PUT /config/network needs the token of the exclusive lock on /config"),
        "{detail}"
    );
    assert!(detail.contains("released or expires"), "{detail}");
    assert!(
        !r.body.contains(&token.to_string()),
        "the token never appears in a refusal"
    );
}

#[test]
fn an_if_header_that_holds_but_does_not_name_the_token_is_423() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Zero, None);
    let req = Request::new(Method::Put, b"/config").header("If", b"(Not <DAV:no-lock>)");
    let (_, r) = run(&mut t, 0, &req);
    assert_eq!(r.status, 423);
}

#[test]
fn webdav_clients_get_a_dav_error_naming_the_lock_root() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Infinity, None);
    let (_, r) = run(
        &mut t,
        0,
        &Request::new(Method::Proppatch, b"/config/a%20b"),
    );
    assert_eq!(r.status, 423);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/xml; charset=\"utf-8\"")
    );
    assert_lock_error_headers(&r);
    assert_eq!(
        dav_error(&r.body),
        ("lock-token-submitted".into(), Some("/config".into()))
    );
}

#[test]
fn accept_overrides_the_method_default() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Infinity, None);
    let put = Request::new(Method::Put, b"/config").header("Accept", b"application/xml");
    assert_eq!(
        dav_error(&run(&mut t, 0, &put).1.body).0,
        "lock-token-submitted"
    );
    let proppatch =
        Request::new(Method::Proppatch, b"/config").header("Accept", b"application/problem+json");
    assert_eq!(run(&mut t, 0, &proppatch).1.json()["status"], 423);
}

#[test]
fn a_lock_that_conflicts_is_423_no_conflicting_lock() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Infinity, None);
    let req = Request::new(Method::Lock, b"/config/wifi")
        .lockinfo(Scope::Shared, "bob")
        .resource(true, None);
    let (outcome, r) = run(&mut t, 0, &req);
    assert!(matches!(
        outcome.refusal(),
        Some(Refusal::LockConflict { .. })
    ));
    assert_eq!(r.status, 423);
    assert_lock_error_headers(&r);
    assert_eq!(
        dav_error(&r.body),
        ("no-conflicting-lock".into(), Some("/config".into()))
    );
    let json = Request {
        accept: Some(b"application/json"),
        ..req
    };
    let body = run(&mut t, 0, &json).1.json();
    assert_eq!(
        body["type"],
        "https://lockwarden.dev/problems/lock-conflict"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("released or expires")
    );
}

#[test]
fn a_depth_infinity_lock_blocked_below_is_207_with_423_and_424() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config/wifi", "o", Depth::Zero, None);
    let req = Request::new(Method::Lock, b"/config").lockinfo(Scope::Exclusive, "me");
    let (outcome, r) = run(&mut t, 0, &req);
    assert!(matches!(
        outcome.refusal(),
        Some(Refusal::LockBlockedBelow { .. })
    ));
    assert_eq!(r.status, 207);
    let doc = roxmltree::Document::parse(&r.body).unwrap();
    let responses: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((DAV, "response")))
        .collect();
    assert_eq!(responses.len(), 2);
    let text = |n: roxmltree::Node, name: &str| {
        n.descendants()
            .find(|c| c.has_tag_name((DAV, name)))
            .and_then(|c| c.text())
            .unwrap()
            .to_string()
    };
    assert_eq!(text(responses[0], "href"), "/config/wifi");
    assert_eq!(text(responses[0], "status"), "HTTP/1.1 423 Locked");
    assert!(
        responses[0]
            .descendants()
            .any(|n| n.has_tag_name((DAV, "no-conflicting-lock")))
    );
    assert_eq!(text(responses[1], "href"), "/config");
    assert_eq!(
        text(responses[1], "status"),
        "HTTP/1.1 424 Failed Dependency"
    );
}

#[test]
fn an_if_header_that_evaluates_false_is_412() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "o", Depth::Zero, None);
    let unknown = b"(<urn:uuid:00000000-0000-4000-8000-000000000000>)";
    let (outcome, r) = run(
        &mut t,
        0,
        &Request::new(Method::Put, b"/config").header("If", unknown),
    );
    assert_eq!(outcome.refusal(), Some(&Refusal::PreconditionFailed));
    assert_eq!(r.status, 412);
    assert_eq!(
        r.json()["type"],
        "https://lockwarden.dev/problems/precondition-failed"
    );
    assert_eq!(r.header("Retry-After"), None);
    // The right token with the wrong entity tag.
    let wrong_etag = format!("(<{token}> [\"v1\"])");
    let req = Request::new(Method::Put, b"/config")
        .header("If", wrong_etag.as_bytes())
        .resource(true, Some("\"v2\""));
    assert_eq!(run(&mut t, 0, &req).1.status, 412);
    let req = req.resource(true, Some("\"v1\""));
    assert!(check(&mut t, Instant(0), &req).is_allowed());
    // An expired token: the default timeout is 180 s.
    let expired = format!("(<{token}>)");
    let req = Request::new(Method::Put, b"/config").header("If", expired.as_bytes());
    assert_eq!(run(&mut t, 180_000, &req).1.status, 412);
}

#[test]
fn a_refresh_naming_no_lock_on_the_url_is_412_lock_token_matches_request_uri() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "o", Depth::Zero, None);
    let named = format!("(<{token}>)");
    let req = Request::new(Method::Lock, b"/other").header("If", named.as_bytes());
    let (outcome, r) = run(&mut t, 0, &req);
    assert_eq!(outcome.refusal(), Some(&Refusal::NoLockToRefresh));
    assert_eq!(r.status, 412);
    assert_eq!(
        dav_error(&r.body),
        ("lock-token-matches-request-uri".into(), None)
    );
}

#[test]
fn a_refresh_extends_the_lock_and_returns_its_lockdiscovery() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "alice", Depth::Infinity, None);
    let named = format!("(<{token}>)");
    let req = Request::new(Method::Lock, b"/config/wifi")
        .header("If", named.as_bytes())
        .header("Timeout", b"Second-600");
    let (outcome, r) = run(&mut t, 100_000, &req);
    assert!(matches!(outcome, Outcome::Refreshed { .. }), "{outcome:?}");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Lock-Token"), None);
    let p = Path::new("/config").unwrap();
    assert_eq!(
        t.find(Instant(100_000), &p, &token).unwrap().remaining,
        Timeout::Finite(Duration(600_000))
    );
    let doc = roxmltree::Document::parse(&r.body).unwrap();
    let timeout = doc
        .descendants()
        .find(|n| n.has_tag_name((DAV, "timeout")))
        .unwrap();
    assert_eq!(timeout.text(), Some("Second-600"));
}

#[test]
fn a_refresh_without_if_is_400_naming_the_header() {
    let mut t = table(Policy::new(1000));
    let req = Request::new(Method::Lock, b"/config").header("Accept", b"application/json");
    let r = run(&mut t, 0, &req).1;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["header"], "If");
}

#[test]
fn unlock_without_a_lock_token_is_400() {
    let mut t = table(Policy::new(1000));
    let (_, r) = run(
        &mut t,
        0,
        &Request::new(Method::Unlock, b"/config").header("Accept", b"application/json"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["header"], "Lock-Token");
    assert_lock_error_headers(&r);
}

#[test]
fn unlock_with_a_token_that_is_not_a_lock_on_the_url_is_409() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "o", Depth::Zero, None);
    let header = format!("<{token}>");
    let r = run(
        &mut t,
        0,
        &Request::new(Method::Unlock, b"/other").header("Lock-Token", header.as_bytes()),
    )
    .1;
    assert_eq!(r.status, 409);
    assert_eq!(
        dav_error(&r.body),
        ("lock-token-matches-request-uri".into(), None)
    );
    let r = run(
        &mut t,
        0,
        &Request::new(Method::Unlock, b"/config").header("Lock-Token", b"<opaquelocktoken:x>"),
    )
    .1;
    assert_eq!(r.status, 409);
}

#[test]
fn unlock_releases_the_lock_with_204() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "o", Depth::Infinity, None);
    let header = format!("<{token}>");
    let req = Request::new(Method::Unlock, b"/config/wifi").header("Lock-Token", header.as_bytes());
    let (outcome, r) = run(&mut t, 0, &req);
    assert_eq!(outcome, Outcome::Unlocked);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert!(r.headers.is_empty());
    assert!(t.is_empty(Instant(0)));
}

#[test]
fn a_token_presented_by_another_principal_is_403_for_use_refresh_and_unlock() {
    let mut t = table(Policy::new(1000));
    let token = lock(&mut t, "/config", "o", Depth::Zero, Some("alice"));
    let if_value = format!("(<{token}>)");
    let lock_token = format!("<{token}>");
    let put = Request::new(Method::Put, b"/config")
        .header("If", if_value.as_bytes())
        .principal("bob");
    let refresh = Request::new(Method::Lock, b"/config")
        .header("If", if_value.as_bytes())
        .principal("bob");
    let unlock = Request::new(Method::Unlock, b"/config")
        .header("Lock-Token", lock_token.as_bytes())
        .principal("bob");
    for req in [put, refresh, unlock] {
        let (outcome, r) = run(&mut t, 0, &req);
        assert_eq!(
            outcome.refusal(),
            Some(&Refusal::Forbidden),
            "{:?}",
            req.method
        );
        assert_eq!(r.status, 403);
    }
    assert!(check(&mut t, Instant(0), &put.principal("alice")).is_allowed());
}

#[test]
fn a_principal_over_its_quota_is_403_lock_quota_exceeded() {
    let mut t = table(Policy::new(1000).with_max_locks_per_principal(1));
    let a = Request::new(Method::Lock, b"/a")
        .lockinfo(Scope::Exclusive, "o")
        .principal("alice");
    assert!(matches!(
        check(&mut t, Instant(0), &a),
        Outcome::Granted { .. }
    ));
    let b = Request {
        target: b"/b",
        accept: Some(b"application/json"),
        ..a
    };
    let r = run(&mut t, 0, &b).1;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["type"],
        "https://lockwarden.dev/problems/lock-quota-exceeded"
    );
}

#[test]
fn a_full_table_is_503_with_retry_after_until_the_first_expiry() {
    let mut t: Table = table(Policy::new(1000));
    for i in 0..8 {
        let path = format!("/p{i}");
        let timeout = format!("Second-{}", 10 + i);
        let req = Request::new(Method::Lock, path.as_bytes())
            .header("Timeout", timeout.as_bytes())
            .lockinfo(Scope::Exclusive, "o");
        assert!(matches!(
            check(&mut t, Instant(0), &req),
            Outcome::Granted { .. }
        ));
    }
    let req = Request::new(Method::Lock, b"/q")
        .lockinfo(Scope::Exclusive, "o")
        .header("Accept", b"application/json");
    let (outcome, r) = run(&mut t, 2_500, &req);
    assert!(matches!(outcome.refusal(), Some(Refusal::TableFull { .. })));
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Retry-After"), Some("8"));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(
        r.json()["type"],
        "https://lockwarden.dev/problems/lock-table-full"
    );
}

#[test]
fn a_full_principal_list_is_503_with_the_time_until_a_lock_expires() {
    let mut t: LockTable<12, 64, 64> = LockTable::new(Policy::new(1000));
    t.seed_tokens([4; 16]);
    for i in 0..lockwarden::DEFAULT_PRINCIPALS {
        let path = format!("/p{i}");
        let who = format!("user{i}");
        let timeout = format!("Second-{}", 10 + i);
        let req = Request::new(Method::Lock, path.as_bytes())
            .header("Timeout", timeout.as_bytes())
            .lockinfo(Scope::Exclusive, "o")
            .principal(&who);
        assert!(matches!(
            check(&mut t, Instant(0), &req),
            Outcome::Granted { .. }
        ));
    }
    let req = Request::new(Method::Lock, b"/q")
        .lockinfo(Scope::Exclusive, "o")
        .principal("newcomer")
        .header("Accept", b"application/json");
    let outcome = check(&mut t, Instant(2_500), &req);
    assert!(matches!(
        outcome.refusal(),
        Some(Refusal::TooManyPrincipals {
            retry_after: lockwarden::http::Expiry::InSeconds(8)
        })
    ));
    let meaning = outcome.refusal().unwrap().meaning();
    assert_eq!(meaning.status, 503);
    assert_eq!(meaning.problem, "lock-principals-full");
    assert_eq!(outcome.refusal().unwrap().retry_after(), Some(8));
    // A principal that holds a lock already may lock more; so may an anonymous client.
    let req = Request::new(Method::Lock, b"/r")
        .lockinfo(Scope::Exclusive, "o")
        .principal("user3");
    assert!(matches!(
        check(&mut t, Instant(2_500), &req),
        Outcome::Granted { .. }
    ));
    let req = Request::new(Method::Lock, b"/s").lockinfo(Scope::Exclusive, "o");
    assert!(matches!(
        check(&mut t, Instant(2_500), &req),
        Outcome::Granted { .. }
    ));
}

#[test]
fn a_full_table_of_infinite_locks_has_no_retry_after() {
    let mut t = table(Policy::new(1000).with_infinite_locks());
    for i in 0..8 {
        let path = format!("/p{i}");
        let req = Request::new(Method::Lock, path.as_bytes())
            .header("Timeout", b"Infinite")
            .lockinfo(Scope::Exclusive, "o");
        assert!(matches!(
            check(&mut t, Instant(0), &req),
            Outcome::Granted { .. }
        ));
    }
    let r = run(
        &mut t,
        0,
        &Request::new(Method::Lock, b"/q").lockinfo(Scope::Exclusive, "o"),
    )
    .1;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Retry-After"), None);
}

#[test]
fn malformed_headers_are_400_naming_the_header() {
    let mut t = table(Policy::new(1000));
    let cases: [(&str, Method, &[u8]); 5] = [
        ("If", Method::Put, b"(<urn:a>"),
        ("Timeout", Method::Lock, b"Second-x"),
        ("Depth", Method::Lock, b"2"),
        ("Depth", Method::Lock, b"1"),
        ("Lock-Token", Method::Unlock, b"urn:uuid:x"),
    ];
    for (name, method, value) in cases {
        let req = Request::new(method, b"/config")
            .header(name, value)
            .header("Accept", b"application/json")
            .lockinfo(Scope::Exclusive, "o");
        let (outcome, r) = run(&mut t, 0, &req);
        assert_eq!(r.status, 400, "{name}: {outcome:?}");
        let body = r.json();
        assert_eq!(body["header"], name);
        assert_eq!(
            body["type"],
            "https://lockwarden.dev/problems/malformed-header"
        );
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name} header")),
            "{body}"
        );
    }
    let r = run(&mut t, 0, &Request::new(Method::Move, b"/config")).1;
    assert_eq!(
        (r.status, dav_error(&r.body).0.as_str()),
        (400, "malformed-header")
    );
}

#[test]
fn a_path_longer_than_the_table_holds_is_414() {
    let mut t = table(Policy::new(1000));
    let long = format!("/{}", "a".repeat(64));
    let (outcome, r) = run(&mut t, 0, &Request::new(Method::Put, long.as_bytes()));
    assert_eq!(r.status, 414);
    assert!(outcome.refusal().is_some());
    let req = Request::new(Method::Copy, b"/a").header("Destination", long.as_bytes());
    assert_eq!(run(&mut t, 0, &req).1.status, 414);
    let r = run(&mut t, 0, &Request::new(Method::Put, b"/a/%zz")).1;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["type"],
        "https://lockwarden.dev/problems/malformed-path"
    );
}

/// The single `activelock` of a LOCK response body.
fn activelock(body: &str) -> std::collections::HashMap<String, String> {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let root = doc.root_element();
    assert!(root.has_tag_name((DAV, "prop")));
    let active: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((DAV, "activelock")))
        .collect();
    assert_eq!(active.len(), 1);
    let mut fields = std::collections::HashMap::new();
    for child in active[0].children().filter(|n| n.is_element()) {
        let value = match child.first_element_child() {
            Some(inner) if inner.has_tag_name((DAV, "href")) => {
                inner.text().unwrap_or("").to_string()
            }
            Some(inner) => inner.tag_name().name().to_string(),
            None => child.text().unwrap_or("").to_string(),
        };
        fields.insert(child.tag_name().name().to_string(), value);
    }
    fields
}

/// An owner as a client sends it inside `DAV:owner`: mixed content with its own
/// namespace declaration and an escaped ampersand.
const OWNER_MARKUP: &str = r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name> (desk 4)"#;

#[test]
fn the_owner_is_returned_as_markup_in_lockdiscovery_and_as_text_in_problem_json() {
    let mut t = table(Policy::new(1000));
    let req = Request::new(Method::Lock, b"/x")
        .lockinfo(Scope::Exclusive, OWNER_MARKUP)
        .resource(true, None);
    let granted = run(&mut t, 0, &req).1;
    let doc = roxmltree::Document::parse(&granted.body).unwrap();
    let owner = doc
        .descendants()
        .find(|n| n.has_tag_name((DAV, "owner")))
        .unwrap();
    let name = owner.first_element_child().unwrap();
    assert!(name.has_tag_name(("urn:x", "name")));
    assert_eq!(name.text(), Some("Alice & Co"));
    let refused = run(
        &mut t,
        0,
        &Request::new(Method::Put, b"/x").resource(true, None),
    )
    .1;
    assert_eq!(refused.json()["owner"], "Alice & Co (desk 4)");
}

#[test]
fn a_granted_lock_is_201_on_an_unmapped_url_with_lock_token_and_lockdiscovery() {
    let mut t = table(Policy::new(1000));
    let req = Request::new(Method::Lock, b"/config/new%20file")
        .header("Timeout", b"Second-60, Infinite")
        .header("Depth", b"0")
        .lockinfo(Scope::Shared, OWNER_MARKUP)
        .resource(false, None);
    let (outcome, r) = run(&mut t, 0, &req);
    let Outcome::Granted {
        lock: held,
        created: true,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("Lock-Token"),
        Some(format!("<{}>", held.token).as_str())
    );
    assert_eq!(
        r.header("Content-Type"),
        Some("application/xml; charset=\"utf-8\"")
    );
    let fields = activelock(&r.body);
    assert_eq!(fields["locktype"], "write");
    assert_eq!(fields["lockscope"], "shared");
    assert_eq!(fields["depth"], "0");
    assert_eq!(fields["owner"], "name");
    assert!(
        r.body
            .contains(&format!("<D:owner>{OWNER_MARKUP}</D:owner>")),
        "the owner comes back verbatim, as markup: {}",
        r.body
    );
    assert_eq!(fields["timeout"], "Second-60");
    assert_eq!(fields["locktoken"], held.token.to_string());
    assert_eq!(fields["lockroot"], "/config/new%20file");
}

#[test]
fn a_granted_lock_on_an_existing_resource_is_200() {
    let mut t = table(Policy::new(1000).with_infinite_locks());
    let req = Request::new(Method::Lock, b"/config")
        .header("Timeout", b"Infinite")
        .lockinfo(Scope::Exclusive, "")
        .resource(true, None);
    let (outcome, r) = run(&mut t, 0, &req);
    assert!(matches!(outcome, Outcome::Granted { created: false, .. }));
    assert_eq!(r.status, 200);
    let fields = activelock(&r.body);
    assert_eq!(fields["timeout"], "Infinite");
    assert_eq!(
        fields["depth"], "infinity",
        "no Depth header means infinity"
    );
    assert!(!fields.contains_key("owner"), "an empty owner is left out");
}

#[test]
fn an_infinite_lock_has_no_retry_after_and_no_expiry() {
    let mut t = table(Policy::new(1000).with_infinite_locks());
    let req = Request::new(Method::Lock, b"/config")
        .header("Timeout", b"Infinite")
        .lockinfo(Scope::Exclusive, "o");
    check(&mut t, Instant(0), &req);
    let r = run(&mut t, 0, &Request::new(Method::Put, b"/config")).1;
    assert_eq!(r.status, 423);
    assert_eq!(r.header("Retry-After"), None);
    assert!(r.json().get("expiresInSeconds").is_none());
}

#[test]
fn a_deployment_can_hide_the_owner() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "alice", Depth::Zero, None);
    let outcome = check(&mut t, Instant(0), &Request::new(Method::Put, b"/config"));
    let shown = render(&outcome, Disclosure::default()).json();
    assert_eq!(shown["owner"], "alice");
    let hidden = render(&outcome, Disclosure { owner: false }).json();
    assert!(hidden.get("owner").is_none());
    assert!(
        !render(&outcome, Disclosure { owner: false })
            .body
            .contains("alice")
    );
}

#[test]
fn any_owner_text_survives_json_and_xml_escaping() {
    let owner = "q\"b\\s \u{1}\u{7f}\u{2028}\u{2029}<&>'é😀";
    let markup = XmlText(owner).to_string();
    let mut t = table(Policy::new(1000));
    let req = Request::new(Method::Lock, b"/x").lockinfo(Scope::Exclusive, &markup);
    let granted = run(&mut t, 0, &req).1;
    // XML 1.0 cannot carry U+0001 at all: it becomes U+FFFD; the rest is verbatim.
    assert_eq!(
        activelock(&granted.body)["owner"],
        owner.replace('\u{1}', "\u{fffd}")
    );
    let refused = run(&mut t, 0, &Request::new(Method::Put, b"/x")).1;
    assert_eq!(refused.json()["owner"], owner.replace('\u{1}', "\u{fffd}"));
    assert!(!refused.body.contains('\u{2028}'), "U+2028 is escaped");
}

#[test]
fn response_into_writes_the_whole_response_and_reports_a_small_buffer() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Zero, None);
    let outcome = check(&mut t, Instant(0), &Request::new(Method::Put, b"/config"));
    let mut buf = [0u8; 2048];
    let n = outcome
        .response_into(&mut buf, Disclosure::default())
        .unwrap();
    let text = String::from_utf8(buf[..n].to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 423 Locked\r\n"));
    assert!(head.contains(&format!("Content-Length: {}", body.len())));
    serde_json::from_str::<Value>(body).unwrap();
    let body_len = body.len();
    let err = outcome
        .response_into(&mut buf[..100], Disclosure::default())
        .unwrap_err();
    assert_eq!(err.needed, n);
    let body_err = outcome
        .body_into(&mut buf[..10], Disclosure::default())
        .unwrap_err();
    assert_eq!(body_err.needed, body_len);
}

#[test]
fn reads_are_never_blocked_but_still_honour_if() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Infinity, None);
    for m in [Method::Get, Method::Head, Method::Options, Method::Propfind] {
        assert!(check(&mut t, Instant(0), &Request::new(m, b"/config/x")).is_allowed());
    }
    let req = Request::new(Method::Get, b"/config")
        .header("If", b"([\"a\"])")
        .resource(true, Some("\"b\""));
    assert_eq!(check(&mut t, Instant(0), &req).status().0, 412);
}

#[test]
fn the_body_format_follows_the_method_when_accept_is_absent() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Infinity, None);
    for (m, format) in [
        (Method::Put, BodyFormat::ProblemJson),
        (Method::Delete, BodyFormat::ProblemJson),
        (Method::Mkcol, BodyFormat::DavXml),
    ] {
        match check(&mut t, Instant(0), &Request::new(m, b"/config/x")) {
            Outcome::Refused { format: f, .. } => assert_eq!(f, format, "{m:?}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_query_or_an_absolute_uri_target_names_the_same_path() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/config", "o", Depth::Zero, None);
    assert_eq!(
        check(
            &mut t,
            Instant(0),
            &Request::new(Method::Put, b"/config?x=1")
        )
        .status()
        .0,
        423
    );
    assert_eq!(
        check(
            &mut t,
            Instant(0),
            &Request::new(Method::Put, b"http://dev/config/")
        )
        .status()
        .0,
        423
    );
    assert_eq!(
        check(
            &mut t,
            Instant(0),
            &Request::new(Method::Put, b"/config/../config")
        )
        .status()
        .0,
        423
    );
}

#[test]
fn options_asterisk_names_the_server_and_is_allowed() {
    let mut t = table(Policy::new(1000));
    lock(&mut t, "/", "o", Depth::Infinity, None);
    assert!(check(&mut t, Instant(0), &Request::new(Method::Options, b"*")).is_allowed());
    assert_eq!(
        check(&mut t, Instant(0), &Request::new(Method::Put, b"*"))
            .status()
            .0,
        400
    );
}
