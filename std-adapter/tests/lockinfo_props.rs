//! Properties of the `lockinfo` parser over generated input: it never panics, and an
//! owner comes back exactly as it was sent.

use lockwarden_std::lockinfo::{LockBody, parse_lock_body};
use proptest::prelude::*;

const VALID: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>"#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn with_owner(owner_markup: &str) -> String {
    VALID.replace(
        "<D:owner>alice</D:owner>",
        &format!("<D:owner>{owner_markup}</D:owner>"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_give_a_value_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_lock_body(&body);
    }

    #[test]
    fn a_valid_body_with_text_inserted_anywhere_gives_a_value_or_an_error(
        at in 0..VALID.len(),
        insert in "[<>&;/!?=\"'a-zA-Z: \\[\\]-]{0,24}",
    ) {
        let at = (0..=at).rev().find(|i| VALID.is_char_boundary(*i)).unwrap_or(0);
        let body = format!("{}{}{}", &VALID[..at], insert, &VALID[at..]);
        if let Ok(LockBody::Create(info)) = parse_lock_body(body.as_bytes())
            && let Some(owner) = info.owner
        {
            // The kept markup is well-formed on its own, with no declaration around it.
            let alone = format!("<alone>{}</alone>", owner.markup);
            prop_assert!(roxmltree::Document::parse(&alone).is_ok(), "{}", alone);
        }
    }

    #[test]
    fn an_escaped_text_owner_comes_back_as_its_text(text in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{1,64}") {
        let text = text.trim().to_owned();
        let markup = escape(&text);
        let parsed = parse_lock_body(with_owner(&markup).as_bytes());
        let Ok(LockBody::Create(info)) = parsed else {
            return Err(TestCaseError::fail(format!("{parsed:?}")));
        };
        let owner = info.owner.unwrap();
        prop_assert_eq!(owner.text(), text.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "));
        prop_assert_eq!(owner.markup, markup);
    }
}
