//! `LOCK` bodies (RFC 4918 §9.10, §14.11): what is accepted, what is refused and how the
//! refusal names the problem.

use lockwarden::Scope;
use lockwarden_std::lockinfo::{
    LockBody, LockInfo, LockInfoError, LockInfoLimits, parse_lock_body, parse_lock_body_with,
};

fn create(body: &str) -> LockInfo {
    match parse_lock_body(body.as_bytes()) {
        Ok(LockBody::Create(info)) => info,
        other => panic!("expected a lockinfo, got {other:?}"),
    }
}

fn refused(body: &str) -> LockInfoError {
    match parse_lock_body(body.as_bytes()) {
        Err(e) => e,
        Ok(other) => panic!("expected a refusal, got {other:?}"),
    }
}

fn lockinfo(owner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<D:lockinfo xmlns:D="DAV:">
  <D:lockscope><D:exclusive/></D:lockscope>
  <D:locktype><D:write/></D:locktype>
  <D:owner>{owner}</D:owner>
</D:lockinfo>"#
    )
}

#[test]
fn an_empty_body_asks_for_a_refresh() {
    assert_eq!(parse_lock_body(b""), Ok(LockBody::Refresh));
    assert_eq!(parse_lock_body(b" \r\n\t"), Ok(LockBody::Refresh));
}

#[test]
fn the_rfc_example_is_an_exclusive_write_lock_with_an_href_owner() {
    // RFC 4918 §9.10.7.
    let info = create(
        r#"<?xml version="1.0" encoding="utf-8" ?>
     <D:lockinfo xmlns:D='DAV:'>
       <D:lockscope><D:exclusive/></D:lockscope>
       <D:locktype><D:write/></D:locktype>
       <D:owner>
            <D:href>http://example.org/~ejw/contact.html</D:href>
       </D:owner>
     </D:lockinfo>"#,
    );
    assert_eq!(info.scope, Scope::Exclusive);
    let owner = info.owner.unwrap();
    assert_eq!(
        owner.markup,
        r#"<D:href xmlns:D="DAV:">http://example.org/~ejw/contact.html</D:href>"#
    );
    assert_eq!(owner.text(), "http://example.org/~ejw/contact.html");
}

#[test]
fn the_owner_keeps_the_namespace_declarations_it_relies_on() {
    // RFC 4918 §14.17: the owner comes back as sent; declared outside it, a prefix would
    // be unbound in lockdiscovery.
    let info = create(
        r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:x" xmlns="urn:default"><D:lockscope xmlns:x="urn:not-in-scope"><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>
          <x:name>Alice &amp; Co</x:name> at <desk x:n="4"/> <D:href xmlns:D="DAV:">mailto:a@b</D:href></D:owner></D:lockinfo>"#,
    );
    let owner = info.owner.unwrap();
    assert_eq!(
        owner.markup,
        r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name> at <desk xmlns:x="urn:x" xmlns="urn:default" x:n="4"/> <D:href xmlns:D="DAV:">mailto:a@b</D:href>"#
    );
    assert_eq!(owner.text(), "Alice & Co at mailto:a@b");
    let alone = format!("<alone>{}</alone>", owner.markup);
    roxmltree::Document::parse(&alone).unwrap();
}

#[test]
fn a_shared_lock_in_the_default_namespace_without_owner_is_accepted() {
    let info = create(
        r#"<lockinfo xmlns="DAV:"><lockscope><shared/></lockscope><locktype><write/></locktype></lockinfo>"#,
    );
    assert_eq!(
        info,
        LockInfo {
            scope: Scope::Shared,
            owner: None
        }
    );
}

#[test]
fn the_owner_markup_is_kept_verbatim_and_its_text_unescaped() {
    let info = create(&lockinfo(
        "alice&apos;s <x:b xmlns:x=\"urn:x\">laptop</x:b> &#x263A; <![CDATA[<&>]]>",
    ));
    let owner = info.owner.unwrap();
    assert_eq!(
        owner.markup,
        "alice&apos;s <x:b xmlns:x=\"urn:x\">laptop</x:b> &#x263A; <![CDATA[<&>]]>"
    );
    assert_eq!(owner.text(), "alice's laptop \u{263A} <&>");
}

#[test]
fn an_empty_owner_element_is_an_empty_owner() {
    let info = create(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner/></D:lockinfo>"#,
    );
    assert_eq!(info.owner.unwrap().markup, "");
}

#[test]
fn elements_of_other_namespaces_are_ignored() {
    // RFC 4918 §17: unknown elements are ignored.
    let info = create(
        r#"<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:ext"><E:hint>x</E:hint><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#,
    );
    assert_eq!(info.scope, Scope::Exclusive);
}

#[test]
fn elements_of_other_namespaces_are_ignored_inside_lockscope_and_locktype_too() {
    // RFC 4918 §17: an extension element anywhere in lockinfo is not an error.
    let info = create(
        r#"<D:lockinfo xmlns:D="DAV:" xmlns:E="urn:ext"><D:lockscope><E:note/><D:shared/></D:lockscope><D:locktype><D:write/><E:also/></D:locktype><E:x><E:y/></E:x></D:lockinfo>"#,
    );
    assert_eq!(info.scope, Scope::Shared);
}

#[test]
fn a_doctype_is_refused_so_the_billion_laughs_cannot_start() {
    let body = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&lol3;</D:owner></D:lockinfo>"#;
    assert_eq!(refused(body), LockInfoError::Doctype);
}

#[test]
fn an_external_entity_declaration_is_refused() {
    let body = r#"<?xml version="1.0"?><!DOCTYPE D:lockinfo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:lockinfo xmlns:D="DAV:"><D:owner>&xxe;</D:owner></D:lockinfo>"#;
    assert_eq!(refused(body), LockInfoError::Doctype);
}

#[test]
fn an_undeclared_entity_in_text_is_refused_by_name() {
    let error = refused(&lockinfo("&xxe;"));
    assert_eq!(error, LockInfoError::Entity { name: "xxe".into() });
    assert!(error.to_string().contains("&xxe;"));
}

#[test]
fn an_undeclared_entity_in_an_attribute_is_refused_by_name() {
    let error = refused(&lockinfo(r#"<x a="&boom;"/>"#));
    assert_eq!(
        error,
        LockInfoError::Entity {
            name: "boom".into()
        }
    );
}

#[test]
fn an_invalid_character_reference_is_refused() {
    assert!(matches!(
        refused(&lockinfo("&#0;")),
        LockInfoError::Entity { .. }
    ));
    assert!(matches!(
        refused(&lockinfo("&#xD800;")),
        LockInfoError::Entity { .. }
    ));
}

#[test]
fn a_body_over_the_size_limit_is_refused_before_parsing() {
    let huge_owner = "a".repeat(LockInfoLimits::DEFAULT.max_bytes);
    assert_eq!(
        refused(&lockinfo(&huge_owner)),
        LockInfoError::TooLarge {
            limit: LockInfoLimits::DEFAULT.max_bytes
        }
    );
    let small = LockInfoLimits {
        max_bytes: 10,
        ..LockInfoLimits::DEFAULT
    };
    assert_eq!(
        parse_lock_body_with(lockinfo("x").as_bytes(), small),
        Err(LockInfoError::TooLarge { limit: 10 })
    );
}

#[test]
fn an_owner_within_the_size_limit_is_kept_whole() {
    let owner = "o".repeat(8 * 1024);
    assert_eq!(
        create(&lockinfo(&owner)).owner.unwrap().text().len(),
        8 * 1024
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_naming_the_element() {
    let deep = "<n>".repeat(20) + &"</n>".repeat(20);
    let error = refused(&lockinfo(&deep));
    assert_eq!(
        error,
        LockInfoError::TooDeep {
            element: "n".into(),
            limit: 16
        }
    );
    assert!(error.to_string().contains("<n>"));
}

#[test]
fn a_document_that_is_not_a_dav_lockinfo_is_refused() {
    assert!(matches!(
        refused(r#"<lockinfo><lockscope><exclusive/></lockscope></lockinfo>"#),
        LockInfoError::NotLockInfo { .. }
    ));
    let error = refused(r#"<D:propfind xmlns:D="DAV:"/>"#);
    assert_eq!(
        error,
        LockInfoError::NotLockInfo {
            found: "<propfind>".into()
        }
    );
    assert!(matches!(
        refused("<!-- only a comment -->"),
        LockInfoError::NotLockInfo { .. }
    ));
}

#[test]
fn a_missing_lockscope_or_locktype_is_named() {
    let no_scope =
        refused(r#"<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>"#);
    assert_eq!(
        no_scope,
        LockInfoError::Missing {
            element: "DAV:lockscope",
            parent: "DAV:lockinfo"
        }
    );
    assert!(no_scope.to_string().contains("DAV:lockscope"));
    let no_type = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope></D:lockinfo>"#,
    );
    assert_eq!(
        no_type,
        LockInfoError::Missing {
            element: "DAV:locktype",
            parent: "DAV:lockinfo"
        }
    );
    let empty_scope = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope/><D:locktype><D:write/></D:locktype></D:lockinfo>"#,
    );
    assert!(matches!(
        empty_scope,
        LockInfoError::Missing {
            parent: "DAV:lockscope",
            ..
        }
    ));
}

#[test]
fn a_lock_type_other_than_write_is_refused_by_name() {
    let error = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:read/></D:locktype></D:lockinfo>"#,
    );
    assert_eq!(
        error,
        LockInfoError::UnsupportedLockType {
            element: "read".into()
        }
    );
}

#[test]
fn an_unknown_lock_scope_is_refused_by_name() {
    let error = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:everyone/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#,
    );
    assert_eq!(
        error,
        LockInfoError::UnknownLockScope {
            element: "everyone".into()
        }
    );
}

#[test]
fn repeated_elements_are_refused() {
    let two_scopes = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#,
    );
    assert!(matches!(two_scopes, LockInfoError::Duplicate { .. }));
    let two_owners = refused(
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>a</D:owner><D:owner>b</D:owner></D:lockinfo>"#,
    );
    assert_eq!(
        two_owners,
        LockInfoError::Duplicate {
            element: "DAV:owner"
        }
    );
}

#[test]
fn malformed_xml_is_refused_with_a_position() {
    for body in [
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:locktype></D:lockinfo>"#,
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope>"#,
        r#"<D:lockinfo xmlns:D="DAV:"></D:lockinfo><D:lockinfo xmlns:D="DAV:"></D:lockinfo>"#,
        "<D:lockinfo xmlns:D=\"DAV:\">&amp</D:lockinfo>",
        "not xml at all",
    ] {
        let error = refused(body);
        assert!(
            matches!(
                error,
                LockInfoError::Malformed { .. } | LockInfoError::NotLockInfo { .. }
            ),
            "{body}: {error:?}"
        );
    }
}

#[test]
fn bodies_that_are_not_utf8_are_refused() {
    assert_eq!(
        parse_lock_body(b"<D:lockinfo \xff/>"),
        Err(LockInfoError::NotUtf8)
    );
    let latin1 = lockinfo("x").replace("utf-8", "iso-8859-1");
    assert_eq!(refused(&latin1), LockInfoError::NotUtf8);
}

#[test]
fn a_malformed_attribute_is_refused_with_its_position() {
    let body = lockinfo("<x a=1/>");
    let error = refused(&body);
    let LockInfoError::Malformed { position, .. } = error else {
        panic!("{error:?}")
    };
    assert!(
        position as usize >= body.find("<D:owner>").unwrap(),
        "{position}"
    );
}
