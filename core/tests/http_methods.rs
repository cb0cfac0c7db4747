//! Which locks each method must satisfy (RFC 4918 §7, §9), through the one-call check.
#![cfg(feature = "http-full")]

use lockwarden::http::{Method, Outcome, Refusal, Request, check};
use lockwarden::{Depth, Instant, LockRequest, LockTable, LockToken, Path, Policy};

type Table = LockTable<8, 64, 64>;

fn table_with(locks: &[(&str, Depth)]) -> (Table, Vec<LockToken>) {
    let mut t = Table::new(Policy::new(1000));
    t.seed_tokens([5; 16]);
    let tokens = locks
        .iter()
        .map(|&(path, depth)| {
            let p = Path::new(path).unwrap();
            t.lock(Instant(0), &LockRequest::exclusive(&p, "o").depth(depth))
                .unwrap()
                .token
        })
        .collect();
    (t, tokens)
}

fn if_for(tokens: &[LockToken]) -> String {
    tokens
        .iter()
        .map(|t| format!("(<{t}>)"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The root of the lock that refuses the request, or `None` when it is allowed.
fn blocker(t: &mut Table, req: &Request<'_>) -> Option<String> {
    match check(t, Instant(1), req) {
        Outcome::Allowed => None,
        Outcome::Refused {
            refusal: Refusal::Locked { lock, .. },
            ..
        } => Some(lock.root.as_str().to_string()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn put_on_an_existing_member_of_a_depth_0_locked_collection_is_allowed() {
    let (mut t, _) = table_with(&[("/config", Depth::Zero)]);
    let existing = Request::new(Method::Put, b"/config/wifi").resource(true, None);
    assert_eq!(blocker(&mut t, &existing), None);
}

#[test]
fn a_request_not_said_to_exist_is_checked_as_creating_a_member() {
    // RFC 4918 §7.5: the safe default, for servers that never call `resource`.
    let (mut t, _) = table_with(&[("/config", Depth::Zero)]);
    assert_eq!(
        blocker(&mut t, &Request::new(Method::Put, b"/config/new")).as_deref(),
        Some("/config")
    );
}

#[test]
fn put_creating_a_member_of_a_locked_collection_needs_the_collections_token() {
    let (mut t, tokens) = table_with(&[("/config", Depth::Zero)]);
    let create = Request::new(Method::Put, b"/config/new").resource(false, None);
    assert_eq!(blocker(&mut t, &create).as_deref(), Some("/config"));
    // The token names a lock that does not cover /config/new, so an untagged list is
    // false (412); a list tagged with the collection holds and submits the token.
    let tagged = format!("</config> (<{}>)", tokens[0]);
    assert_eq!(
        blocker(&mut t, &create.header("If", tagged.as_bytes())),
        None
    );
    let untagged = if_for(&tokens);
    assert_eq!(
        check(
            &mut t,
            Instant(1),
            &create.header("If", untagged.as_bytes())
        )
        .status()
        .0,
        412
    );
}

#[test]
fn mkcol_always_writes_the_parents_membership() {
    let (mut t, _) = table_with(&[("/config", Depth::Zero)]);
    assert_eq!(
        blocker(
            &mut t,
            &Request::new(Method::Mkcol, b"/config/dir").resource(false, None)
        )
        .as_deref(),
        Some("/config")
    );
}

#[test]
fn proppatch_writes_the_resource_only() {
    let (mut t, _) = table_with(&[("/config/wifi", Depth::Zero)]);
    assert_eq!(
        blocker(&mut t, &Request::new(Method::Proppatch, b"/config/wifi")).as_deref(),
        Some("/config/wifi")
    );
    assert_eq!(
        blocker(&mut t, &Request::new(Method::Proppatch, b"/config")),
        None
    );
}

#[test]
fn delete_needs_the_tokens_of_locks_below_and_of_the_parent() {
    let (mut t, tokens) = table_with(&[("/config/wifi/ssid", Depth::Zero), ("/", Depth::Zero)]);
    let delete = Request::new(Method::Delete, b"/config");
    assert!(blocker(&mut t, &delete).is_some());
    let below = format!("</config/wifi/ssid> (<{}>)", tokens[0]);
    assert_eq!(
        blocker(&mut t, &delete.header("If", below.as_bytes())).as_deref(),
        Some("/")
    );
    let both = format!(
        "</config/wifi/ssid> (<{}>) </> (<{}>)",
        tokens[0], tokens[1]
    );
    assert_eq!(blocker(&mut t, &delete.header("If", both.as_bytes())), None);
}

#[test]
fn move_needs_the_source_subtree_and_both_parents() {
    let (mut t, tokens) = table_with(&[("/a/x", Depth::Zero), ("/b", Depth::Zero)]);
    let mv = Request::new(Method::Move, b"/a/x").header("Destination", b"http://dev/b/x");
    assert_eq!(blocker(&mut t, &mv).as_deref(), Some("/a/x"));
    let source = format!("(<{}>)", tokens[0]);
    assert_eq!(
        blocker(&mut t, &mv.header("If", source.as_bytes())).as_deref(),
        Some("/b")
    );
    let both = format!("</a/x> (<{}>) <http://dev/b> (<{}>)", tokens[0], tokens[1]);
    assert_eq!(blocker(&mut t, &mv.header("If", both.as_bytes())), None);
}

#[test]
fn move_or_copy_onto_an_existing_destination_needs_its_subtree() {
    let (mut t, tokens) = table_with(&[("/b/x/deep", Depth::Zero)]);
    let copy = Request::new(Method::Copy, b"/a")
        .header("Destination", b"/b/x")
        .destination_resource(true, None);
    assert_eq!(blocker(&mut t, &copy).as_deref(), Some("/b/x/deep"));
    let tagged = format!("</b/x/deep> (<{}>)", tokens[0]);
    assert_eq!(blocker(&mut t, &copy.header("If", tagged.as_bytes())), None);
    // Onto an unmapped destination there is no subtree to replace.
    assert_eq!(
        blocker(&mut t, &copy.destination_resource(false, None)),
        None
    );
}

#[test]
fn copy_reads_its_source() {
    let (mut t, _) = table_with(&[("/a", Depth::Infinity)]);
    let copy = Request::new(Method::Copy, b"/a/x").header("Destination", b"/b/x");
    assert_eq!(blocker(&mut t, &copy), None);
}

#[test]
fn copy_checks_entity_tags_of_a_tagged_destination() {
    let (mut t, _) = table_with(&[]);
    let copy = Request::new(Method::Copy, b"/a")
        .header("Destination", b"/b")
        .destination_resource(true, Some("\"d1\""));
    assert!(check(&mut t, Instant(1), &copy.header("If", b"</b> ([\"d1\"])")).is_allowed());
    assert_eq!(
        check(&mut t, Instant(1), &copy.header("If", b"</b> ([\"d2\"])"))
            .status()
            .0,
        412
    );
}

#[test]
fn lock_on_an_unmapped_url_writes_the_parents_membership() {
    let (mut t, _) = table_with(&[("/config", Depth::Zero)]);
    let req = Request::new(Method::Lock, b"/config/new")
        .resource(false, None)
        .lockinfo(lockwarden::Scope::Exclusive, "me");
    match check(&mut t, Instant(1), &req) {
        Outcome::Refused {
            refusal: Refusal::Locked { method, lock, .. },
            ..
        } => {
            assert_eq!((method, lock.root.as_str()), (Method::Lock, "/config"));
        }
        other => panic!("{other:?}"),
    }
    let existing = req.resource(true, None);
    assert_eq!(check(&mut t, Instant(1), &existing).status().0, 200);
}

#[test]
fn unknown_methods_are_checked_as_writes() {
    let (mut t, _) = table_with(&[("/config", Depth::Zero)]);
    assert_eq!(
        blocker(&mut t, &Request::new(Method::parse(b"ACL"), b"/config")).as_deref(),
        Some("/config")
    );
    assert_eq!(
        blocker(&mut t, &Request::new(Method::parse(b"REPORT"), b"/config")),
        None
    );
}

#[test]
fn every_token_named_anywhere_in_the_if_header_is_submitted() {
    let members = ["/c/a", "/c/b", "/c/d", "/c/e", "/c/f", "/c/g", "/c/h"];
    let locks: Vec<(&str, Depth)> = members.iter().map(|&m| (m, Depth::Zero)).collect();
    let (mut t, tokens) = table_with(&locks);
    let delete = Request::new(Method::Delete, b"/c").resource(true, None);
    // All seven, some negated, spread over lists that need not hold: each is submitted.
    let mut all = format!("(<{}> Not <DAV:no-lock>)", tokens[0]);
    for token in &tokens[1..] {
        all += &format!(" (Not <{token}>)");
    }
    assert_eq!(blocker(&mut t, &delete.header("If", all.as_bytes())), None);
    // Leave any one out and its lock refuses the delete.
    for (left_out, member) in members.iter().enumerate() {
        let named: Vec<LockToken> = (0..tokens.len())
            .filter(|&i| i != left_out)
            .map(|i| tokens[i])
            .collect();
        let header = format!("{} (Not <DAV:no-lock>)", if_for(&named).replace(") (", " "));
        assert_eq!(
            blocker(&mut t, &delete.header("If", header.as_bytes())).as_deref(),
            Some(*member)
        );
    }
}
