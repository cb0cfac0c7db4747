//! The reader against a complete XML parser: on a corpus of lockinfo bodies and every
//! single-byte deletion, duplication and substitution of them, whenever roxmltree reads a
//! body (without a DTD), the reader must agree: the same scope and owner for a valid
//! lockinfo, an error for anything else.

use lockwarden::Scope;

const CORPUS: &[&str] = &[
    r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>"#,
    r#"<lockinfo xmlns="DAV:"><lockscope><shared/></lockscope><locktype><write/></locktype><owner><href>mailto:a@b.example</href></owner></lockinfo>"#,
    "<a:lockinfo xmlns:a='DAV:' xmlns:x='urn:x'>\n  <!-- c -->\n  <a:locktype><x:t/><a:write/></a:locktype>\n  <x:y z='1'/>\n  <a:lockscope><a:exclusive></a:exclusive></a:lockscope>\n  <a:owner>R&amp;D &#65;&#x42; <![CDATA[<raw>]]><?pi x?></a:owner>\n</a:lockinfo>\n",
    r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner/></D:lockinfo>"#,
    r#"<D:lockinfo xmlns:D="DAV:" xmlns:x="urn:x"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner xmlns:y="urn:y"><D:href>mailto:a@b</D:href> <x:desk x:n="4" y:m="5"><x:floor/></x:desk></D:owner></D:lockinfo>"#,
];

/// What a complete parser makes of a body: `None` when it is not well-formed (or has a
/// DTD); otherwise the scope and owner of a valid lockinfo, or `Err` for another document.
fn reference(body: &str) -> Option<Result<(Scope, String), ()>> {
    let doc = roxmltree::Document::parse(body).ok()?;
    let dav = |n: &roxmltree::Node, name: &str| {
        n.is_element() && n.tag_name().namespace() == Some("DAV:") && n.tag_name().name() == name
    };
    let root = doc.root_element();
    if !dav(&root, "lockinfo") {
        return Some(Err(()));
    }
    let child = |name: &str| root.children().find(|n| dav(n, name));
    // The DAV: elements inside; others are extensions (RFC 4918 §17).
    fn only<'a, 'i>(n: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
        n.children()
            .filter(|c| c.is_element() && c.tag_name().namespace() == Some("DAV:"))
            .collect()
    }
    let scope = match child("lockscope").map(only).as_deref() {
        Some([s]) if dav(s, "exclusive") => Scope::Exclusive,
        Some([s]) if dav(s, "shared") => Scope::Shared,
        _ => return Some(Err(())),
    };
    match child("locktype").map(only).as_deref() {
        Some([t]) if dav(t, "write") => {}
        _ => return Some(Err(())),
    }
    // Exactly one of each, as the corpus has it; repeated elements are not compared.
    for name in ["lockscope", "locktype", "owner"] {
        if root.children().filter(|n| dav(n, name)).count() > 1 {
            return None;
        }
    }
    let owner = match child("owner") {
        None => String::new(),
        Some(owner) if owner.has_children() => {
            // Between the end of the start tag and the start of the end tag.
            let range = owner.range();
            let element = &body[range.clone()];
            let mut quote = None;
            let start_tag_end = element
                .char_indices()
                .find(|&(_, c)| match (quote, c) {
                    (None, '"' | '\'') => {
                        quote = Some(c);
                        false
                    }
                    (Some(q), c) if c == q => {
                        quote = None;
                        false
                    }
                    (None, '>') => true,
                    _ => false,
                })
                .map(|(i, _)| i + 1)?;
            let end_tag_start = element.rfind("</")?;
            element[start_tag_end..end_tag_start].trim().to_string()
        }
        Some(_) => String::new(),
    };
    Some(Ok((scope, owner)))
}

fn mutations(body: &str) -> Vec<Vec<u8>> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    for i in 0..bytes.len() {
        let mut deleted = bytes.to_vec();
        deleted.remove(i);
        out.push(deleted);
        let mut doubled = bytes.to_vec();
        doubled.insert(i, bytes[i]);
        out.push(doubled);
        for b in [b'<', b'>', b'/', b'&', b'"', b' ', b'x', b':'] {
            let mut swapped = bytes.to_vec();
            swapped[i] = b;
            out.push(swapped);
        }
    }
    out
}

#[test]
fn the_reader_agrees_with_roxmltree_wherever_roxmltree_reads_the_body() {
    let mut compared = 0;
    for body in CORPUS {
        assert!(
            reference(body).is_some_and(|r| r.is_ok()),
            "corpus entry is a valid lockinfo: {body}"
        );
        for mutated in std::iter::once(body.as_bytes().to_vec()).chain(mutations(body)) {
            let Ok(text) = std::str::from_utf8(&mutated) else {
                continue;
            };
            let Some(expected) = reference(text) else {
                continue;
            };
            let ours = lockinfo::parse(&mutated).map(|info| (info.scope, info.owner.to_string()));
            match expected {
                Ok(expected) => {
                    assert_eq!(ours, Ok(expected), "{text}");
                    owner_markup_stands_alone(text);
                }
                Err(()) => assert!(ours.is_err(), "{text}: {ours:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared > 1000, "only {compared} bodies compared");
}

/// The owner's markup, written out by `owner_markup` and parsed on its own, has the same
/// elements in the same namespaces as inside the whole body.
fn owner_markup_stands_alone(body: &str) {
    let info = lockinfo::parse(body.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let markup = info.owner_markup(&mut buf).unwrap();
    let names = |root: roxmltree::Node| -> Vec<(Option<String>, String)> {
        root.descendants()
            .skip(1)
            .filter(|n| n.is_element())
            .map(|n| {
                (
                    n.tag_name().namespace().map(str::to_string),
                    n.tag_name().name().to_string(),
                )
            })
            .collect()
    };
    let whole = roxmltree::Document::parse(body).unwrap();
    let owner = whole.root_element().children().find(|n| {
        n.is_element() && n.tag_name().namespace() == Some("DAV:") && n.tag_name().name() == "owner"
    });
    let expected = owner.map(names).unwrap_or_default();
    let wrapped = format!("<wrapper>{markup}</wrapper>");
    let alone = roxmltree::Document::parse(&wrapped).unwrap_or_else(|e| {
        panic!("owner markup {markup:?} of {body:?} does not stand alone: {e}")
    });
    assert_eq!(names(alone.root_element()), expected, "{body}\n{markup}");
}
