//! The lockinfo reader against the bodies WebDAV clients send and the ones they should not.

use lockwarden::Scope;
use lockwarden::http::LockInfoError;

fn parse(body: &str) -> Result<(Scope, &str), LockInfoError> {
    lockinfo::parse(body.as_bytes()).map(|info| (info.scope, info.owner))
}

#[test]
fn an_exclusive_lock_with_a_text_owner_is_read() {
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
        <D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
        <D:locktype><D:write/></D:locktype><D:owner>alice's laptop</D:owner></D:lockinfo>"#;
    assert_eq!(parse(body), Ok((Scope::Exclusive, "alice's laptop")));
}

#[test]
fn a_shared_lock_in_the_default_namespace_is_read() {
    let body = r#"<lockinfo xmlns="DAV:"><lockscope><shared/></lockscope><locktype><write/></locktype><owner>panel</owner></lockinfo>"#;
    assert_eq!(parse(body), Ok((Scope::Shared, "panel")));
}

#[test]
fn any_prefix_bound_to_dav_counts() {
    let body = r#"<a:lockinfo xmlns:a="DAV:"><a:locktype><a:write/></a:locktype><a:lockscope><a:exclusive/></a:lockscope></a:lockinfo>"#;
    assert_eq!(parse(body), Ok((Scope::Exclusive, "")));
}

#[test]
fn the_owner_is_kept_verbatim_markup_and_references_included() {
    // RFC 4918 §14.17: the server keeps what the client sent inside DAV:owner.
    let body = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
        <D:owner>
            <D:href>mailto:a&amp;b@example.com</D:href>
        </D:owner></D:lockinfo>"#;
    assert_eq!(
        parse(body),
        Ok((
            Scope::Exclusive,
            "<D:href>mailto:a&amp;b@example.com</D:href>"
        ))
    );
}

#[test]
fn an_empty_or_absent_owner_is_empty() {
    let empty = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner/></D:lockinfo>"#;
    assert_eq!(parse(empty), Ok((Scope::Shared, "")));
    let absent = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(absent), Ok((Scope::Shared, "")));
}

#[test]
fn unknown_elements_and_comments_are_skipped() {
    let body = r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:x"><!-- hi --><x:extra><x:deep/></x:extra>
        <D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(body), Ok((Scope::Exclusive, "")));
}

#[test]
fn extension_elements_inside_lockscope_and_locktype_are_ignored() {
    // RFC 4918 §17: an element of another namespace is an extension, anywhere.
    let body = r#"<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:ext"><D:lockscope><E:note/><D:shared/></D:lockscope><D:locktype><D:write/><E:also>x</E:also></D:locktype><E:x><E:y/></E:x></D:lockinfo>"#;
    assert_eq!(parse(body), Ok((Scope::Shared, "")));
}

#[test]
fn two_scopes_are_a_lockscope_error() {
    let body = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(body), Err(LockInfoError::LockScope));
}

#[test]
fn elements_outside_the_dav_namespace_do_not_count() {
    // Same local names, another namespace: no lockinfo at all.
    let body = r#"<x:lockinfo xmlns:x="urn:not-dav"><x:lockscope><x:exclusive/></x:lockscope><x:locktype><x:write/></x:locktype></x:lockinfo>"#;
    assert_eq!(parse(body), Err(LockInfoError::Malformed));
    let unprefixed =
        r#"<lockinfo><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>"#;
    assert_eq!(parse(unprefixed), Err(LockInfoError::Malformed));
}

#[test]
fn a_missing_or_unknown_scope_is_a_lockscope_error() {
    let missing = r#"<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(missing), Err(LockInfoError::LockScope));
    let unknown = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:everyone/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(unknown), Err(LockInfoError::LockScope));
}

#[test]
fn a_missing_or_other_type_is_a_locktype_error() {
    let missing =
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>"#;
    assert_eq!(parse(missing), Err(LockInfoError::LockType));
    let read = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:read/></D:locktype></D:lockinfo>"#;
    assert_eq!(parse(read), Err(LockInfoError::LockType));
}

#[test]
fn a_dtd_is_refused_so_no_entity_expands() {
    let body = r#"<?xml version="1.0"?><!DOCTYPE D:lockinfo [<!ENTITY e "eeeeeeeeee">]>
        <D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&e;</D:owner></D:lockinfo>"#;
    assert_eq!(parse(body), Err(LockInfoError::Malformed));
}

#[test]
fn bodies_that_are_not_well_formed_are_malformed() {
    for body in [
        "",
        "not xml",
        "<D:lockinfo xmlns:D=\"DAV:\">",
        "<D:lockinfo xmlns:D=\"DAV:\"></D:other>",
        "<D:lockinfo xmlns:D=\"DAV:\"/><D:lockinfo xmlns:D=\"DAV:\"/>",
        "<D:propfind xmlns:D=\"DAV:\"/>",
        "<D:lockinfo xmlns:D=\"DAV:\"><D:owner><a><b></a></b></D:owner></D:lockinfo>",
    ] {
        assert_eq!(parse(body), Err(LockInfoError::Malformed), "{body:?}");
    }
    assert_eq!(
        lockinfo::parse(b"<D:lockinfo xmlns:D=\"DAV:\">\xff</D:lockinfo>").map(|i| i.owner),
        Err(LockInfoError::Malformed)
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_malformed() {
    let deep = |n: usize| {
        format!(
            r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{}{}</D:owner></D:lockinfo>"#,
            "<x>".repeat(n),
            "</x>".repeat(n)
        )
    };
    assert!(parse(&deep(lockinfo::MAX_DEPTH - 2)).is_ok());
    assert_eq!(
        parse(&deep(lockinfo::MAX_DEPTH - 1)),
        Err(LockInfoError::Malformed)
    );
}

#[test]
fn no_input_makes_it_panic() {
    // Every prefix of a valid body, and each byte flipped: an answer, never a panic.
    let body = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>x</D:href></D:owner></D:lockinfo>"#;
    for end in 0..body.len() {
        let _ = lockinfo::parse(&body.as_bytes()[..end]);
    }
    let mut bytes = body.as_bytes().to_vec();
    for i in 0..bytes.len() {
        for flip in [0x01, 0x20, 0x80] {
            bytes[i] ^= flip;
            let _ = lockinfo::parse(&bytes);
            bytes[i] ^= flip;
        }
    }
}

fn markup(body: &str) -> Result<String, LockInfoError> {
    let info = lockinfo::parse(body.as_bytes())?;
    let mut buf = [0u8; 256];
    info.owner_markup(&mut buf).map(str::to_string)
}

#[test]
fn a_text_owner_comes_back_unchanged() {
    let body = r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:x"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>R&amp;D, desk 4</D:owner></D:lockinfo>"#;
    assert_eq!(markup(body).as_deref(), Ok("R&amp;D, desk 4"));
}

#[test]
fn owner_markup_declares_the_prefixes_it_uses_and_only_those() {
    let body = r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:x" xmlns:unused="urn:u"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>
        <D:href>mailto:a@b</D:href> and <x:desk x:n="4"><x:floor/></x:desk></D:owner></D:lockinfo>"#;
    assert_eq!(
        markup(body).as_deref(),
        Ok(
            r#"<D:href xmlns:D="DAV:" xmlns:x="urn:x">mailto:a@b</D:href> and <x:desk xmlns:D="DAV:" xmlns:x="urn:x" x:n="4"><x:floor/></x:desk>"#
        )
    );
}

#[test]
fn owner_markup_in_the_default_namespace_keeps_it() {
    let body = r#"<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype><owner><href>mailto:c@d</href></owner></lockinfo>"#;
    assert_eq!(
        markup(body).as_deref(),
        Ok(r#"<href xmlns="DAV:">mailto:c@d</href>"#)
    );
}

#[test]
fn a_declaration_on_owner_wins_and_one_on_the_element_is_not_repeated() {
    let body = r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:outer"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner xmlns:x='urn:owner'><x:a/><x:b xmlns:x="urn:own"/></D:owner></D:lockinfo>"#;
    assert_eq!(
        markup(body).as_deref(),
        Ok(r#"<x:a xmlns:x='urn:owner'/><x:b xmlns:x="urn:own"/>"#)
    );
}

#[test]
fn owner_markup_that_does_not_fit_is_owner_too_long() {
    let body = r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:someone@example.com</D:href></D:owner></D:lockinfo>"#;
    let info = lockinfo::parse(body.as_bytes()).unwrap();
    let mut small = [0u8; 40];
    assert_eq!(
        info.owner_markup(&mut small),
        Err(LockInfoError::OwnerTooLong)
    );
    let mut enough = [0u8; 64];
    assert!(info.owner_markup(&mut enough).is_ok());
}
