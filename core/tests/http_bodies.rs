//! Every refusal renders as valid problem+json and well-formed `DAV:error` XML with the
//! status PROTOCOL.md gives it, and `lockdiscovery` lists locks as RFC 4918 §15.8 says.
#![cfg(feature = "http-full")]

use lockwarden::http::{
    BodyFormat, Disclosure, Expiry, HeaderError, IfError, IfErrorKind, LockDetails, LockInfoError,
    Method, Outcome, PathSource, Refusal, TimeoutError, write_lockdiscovery,
};
use lockwarden::{
    Depth, Duration, Instant, LockRequest, LockTable, Path, PathError, Policy, Scope, Timeout,
};

fn details(root: &str, owner: &str, expires: Expiry) -> LockDetails<64, 64> {
    LockDetails {
        root: Path::new(root).unwrap(),
        scope: Scope::Exclusive,
        depth: Depth::Infinity,
        owner: owner.try_into().unwrap(),
        expires,
    }
}

/// Each refusal with the status PROTOCOL.md's table gives it.
fn every_refusal() -> Vec<(Refusal<64, 64>, u16)> {
    let lock = details("/config/a b&c", "o\"<&>", Expiry::InSeconds(3));
    let path = Path::new("/config/x").unwrap();
    vec![
        (
            Refusal::Locked {
                method: Method::Put,
                path: path.clone(),
                lock: lock.clone(),
            },
            423,
        ),
        (
            Refusal::LockConflict {
                path: path.clone(),
                lock: lock.clone(),
            },
            423,
        ),
        (
            Refusal::LockBlockedBelow {
                path: Path::new("/").unwrap(),
                lock,
            },
            207,
        ),
        (Refusal::PreconditionFailed, 412),
        (Refusal::NoLockToRefresh, 412),
        (Refusal::UnlockTokenMismatch, 409),
        (Refusal::Forbidden, 403),
        (Refusal::QuotaExceeded, 403),
        (Refusal::PrincipalTooLong, 403),
        (
            Refusal::TableFull {
                retry_after: Expiry::InSeconds(9),
            },
            503,
        ),
        (
            Refusal::TableFull {
                retry_after: Expiry::Never,
            },
            503,
        ),
        (
            Refusal::TooManyPrincipals {
                retry_after: Expiry::InSeconds(9),
            },
            503,
        ),
        (
            Refusal::TooManyPrincipals {
                retry_after: Expiry::Never,
            },
            503,
        ),
        (
            Refusal::BadHeader(HeaderError::If(IfError {
                kind: IfErrorKind::EmptyList,
                at: 1,
            })),
            400,
        ),
        (
            Refusal::BadHeader(HeaderError::Timeout(TimeoutError::BadSeconds)),
            400,
        ),
        (Refusal::BadHeader(HeaderError::Missing("Lock-Token")), 400),
        (Refusal::BadLockInfo(LockInfoError::LockScope), 400),
        (
            Refusal::BadPath {
                source: PathSource::Request,
                error: PathError::TooLong,
            },
            414,
        ),
        (
            Refusal::BadPath {
                source: PathSource::Destination,
                error: PathError::BadEscape,
            },
            400,
        ),
        (Refusal::Unseeded, 500),
    ]
}

fn body(outcome: &Outcome<64, 64>) -> String {
    let mut buf = vec![0u8; 4096];
    let n = outcome.body_into(&mut buf, Disclosure::default()).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn every_refusal_is_valid_problem_json_with_its_status() {
    for (refusal, status) in every_refusal() {
        let meaning = refusal.meaning();
        assert_eq!(meaning.status, status, "{refusal:?}");
        let outcome = Outcome::Refused {
            refusal: refusal.clone(),
            format: BodyFormat::ProblemJson,
        };
        assert_eq!(outcome.status().0, status);
        let text = body(&outcome);
        if status == 207 {
            // A multistatus is XML whatever the client accepts.
            assert_eq!(
                outcome.content_type(),
                Some("application/xml; charset=\"utf-8\"")
            );
            roxmltree::Document::parse(&text).unwrap();
            continue;
        }
        assert_eq!(outcome.content_type(), Some("application/problem+json"));
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(json["status"], status);
        assert_eq!(
            json["type"],
            format!("https://lockwarden.dev/problems/{}", meaning.problem)
        );
        assert_eq!(json["title"], meaning.title);
        assert!(!json["detail"].as_str().unwrap().is_empty());
        let headers: Vec<_> = outcome.headers().map(|h| h.name).collect();
        assert!(
            headers.contains(&"Cache-Control") && headers.contains(&"Vary"),
            "{headers:?}"
        );
    }
}

#[test]
fn every_refusal_is_a_well_formed_dav_error() {
    for (refusal, status) in every_refusal() {
        let meaning = refusal.meaning();
        let outcome = Outcome::Refused {
            refusal: refusal.clone(),
            format: BodyFormat::DavXml,
        };
        let text = body(&outcome);
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if status == 207 {
            assert!(doc.root_element().has_tag_name(("DAV:", "multistatus")));
            continue;
        }
        let root = doc.root_element();
        assert!(root.has_tag_name(("DAV:", "error")));
        let condition = root.first_element_child().unwrap();
        match meaning.precondition {
            Some(name) => assert!(condition.has_tag_name(("DAV:", name)), "{text}"),
            None => assert!(
                condition.has_tag_name(("https://lockwarden.dev/problems/", meaning.problem)),
                "{text}"
            ),
        }
        if let Some(lock) = refusal.lock() {
            let href = condition
                .children()
                .find(|n| n.has_tag_name(("DAV:", "href")))
                .unwrap();
            assert_eq!(href.text(), Some("/config/a%20b%26c"));
            assert_eq!(lock.root.as_str(), "/config/a b&c");
        }
    }
}

#[test]
fn retry_after_is_sent_only_when_waiting_cures_a_finite_lock() {
    for (refusal, _) in every_refusal() {
        let expected = match &refusal {
            Refusal::TableFull {
                retry_after: Expiry::InSeconds(s),
            }
            | Refusal::TooManyPrincipals {
                retry_after: Expiry::InSeconds(s),
            } => Some(s.to_string()),
            r if r.lock().is_some() => Some("3".to_string()),
            _ => None,
        };
        let outcome = Outcome::Refused {
            refusal,
            format: BodyFormat::ProblemJson,
        };
        let got = outcome
            .headers()
            .find(|h| h.name == "Retry-After")
            .map(|h| h.value.to_string());
        assert_eq!(got, expected, "{outcome:?}");
    }
}

#[test]
fn lockdiscovery_lists_each_lock_with_its_remaining_time_and_shows_tokens_to_their_holder() {
    let mut table: LockTable<4> = LockTable::new(Policy::new(1000));
    table.seed_tokens([4; 16]);
    let config = Path::new("/config").unwrap();
    let wifi = Path::new("/config/wifi").unwrap();
    let shared = LockRequest::shared(&config, "alice")
        .depth(Depth::Infinity)
        .principal("alice");
    let a = table
        .lock(
            Instant(0),
            &shared.timeout(Timeout::Finite(Duration(10_000))),
        )
        .unwrap();
    let b = table
        .lock(
            Instant(0),
            &LockRequest::shared(&wifi, "anonymous &lt;x&gt;"),
        )
        .unwrap();
    let mut xml = String::new();
    write_lockdiscovery(
        &mut xml,
        table.locks_covering(Instant(2_500), &wifi),
        1000,
        Some("bob"),
        Disclosure::default(),
    )
    .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let locks: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name(("DAV:", "activelock")))
        .collect();
    assert_eq!(locks.len(), 2);
    let text = |n: roxmltree::Node, name: &str| {
        n.descendants()
            .find(|c| c.has_tag_name(("DAV:", name)))
            .and_then(|c| c.text())
            .map(String::from)
    };
    let mut seen = locks
        .iter()
        .map(|&l| (text(l, "owner"), text(l, "timeout"), text(l, "href")))
        .collect::<Vec<_>>();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                Some("alice".into()),
                Some("Second-8".into()),
                Some("/config".into())
            ),
            (
                Some("anonymous <x>".into()),
                Some("Second-178".into()),
                Some(b.token.to_string())
            ),
        ]
    );
    assert!(
        !xml.contains(&a.token.to_string()),
        "alice's token is hidden from bob"
    );
    let mut own = String::new();
    write_lockdiscovery(
        &mut own,
        table.locks_covering(Instant(0), &wifi),
        1000,
        Some("alice"),
        Disclosure::default(),
    )
    .unwrap();
    assert!(own.contains(&a.token.to_string()));
}
