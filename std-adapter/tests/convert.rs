//! The conversions between `http` types and the core: request parts in, outcomes out.

use http::StatusCode;
use lockwarden::http::{BodyFormat, Disclosure, Method, Outcome, Refusal};
use lockwarden::{Depth, LockRequest, Path, Policy, Scope};
use lockwarden_std::lockinfo::{LockBody, parse_lock_body};
use lockwarden_std::request::check_request;
use lockwarden_std::response::http_response;
use lockwarden_std::{
    LockManager, LockRejection, LockResponse, ManualClock, Principal, Resource, Resources, TICK_HZ,
};

type Manager = LockManager<8, 64, 64>;

fn manager() -> Manager {
    Manager::with_clock(Policy::new(TICK_HZ), ManualClock::new()).unwrap()
}

#[test]
fn every_lock_header_principal_and_resource_state_reach_the_core() {
    let mut request = http::Request::builder()
        .method("MOVE")
        .uri("http://device.local/config/a?x=1")
        .header("if", "(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)")
        .header(
            "Lock-Token",
            "<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>",
        )
        .header("Timeout", "Second-60")
        .header("Depth", "0")
        .header("Accept", "application/json")
        .header("Destination", "/config/b")
        .header("Content-Type", "application/json")
        .body(())
        .unwrap();
    request.extensions_mut().insert(Principal("alice".into()));
    let (parts, ()) = request.into_parts();
    let resources = Resources {
        target: Resource::existing(Some("\"1\"".into())),
        destination: Resource::missing(),
    };
    let checked = check_request(&parts, &resources, None);
    assert_eq!(checked.method, Method::Move);
    assert_eq!(checked.target, b"/config/a");
    assert_eq!(checked.principal, Some("alice"));
    assert_eq!(
        checked.if_header,
        Some(&b"(<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>)"[..])
    );
    assert_eq!(
        checked.lock_token,
        Some(&b"<urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b>"[..])
    );
    assert_eq!(checked.timeout, Some(&b"Second-60"[..]));
    assert_eq!(checked.depth, Some(&b"0"[..]));
    assert_eq!(checked.accept, Some(&b"application/json"[..]));
    assert_eq!(checked.destination, Some(&b"/config/b"[..]));
    assert!(checked.exists);
    assert_eq!(checked.etag, Some("\"1\""));
    assert!(!checked.destination_exists);
}

#[test]
fn a_lockinfo_owner_reaches_the_core_as_the_markup_sent() {
    let body = br#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:a@example.com</D:href></D:owner></D:lockinfo>"#;
    let LockBody::Create(info) = parse_lock_body(body).unwrap() else {
        panic!("not a lockinfo")
    };
    let (parts, ()) = http::Request::builder()
        .method("LOCK")
        .uri("/c")
        .body(())
        .unwrap()
        .into_parts();
    let resources = Resources::target(Resource::existing(None));
    let checked = check_request(&parts, &resources, Some(&info));
    let lockinfo = checked.lockinfo.unwrap();
    assert_eq!(lockinfo.scope, Scope::Shared);
    assert_eq!(
        lockinfo.owner,
        r#"<D:href xmlns:D="DAV:">mailto:a@example.com</D:href>"#
    );
}

#[test]
fn the_lookup_of_the_layer_is_asked_for_canonical_paths() {
    let (parts, ()) = http::Request::builder()
        .method("COPY")
        .uri("/config//a/")
        .header("Destination", "http://device.local/config/./b")
        .body(())
        .unwrap()
        .into_parts();
    struct Recording(std::sync::Mutex<Vec<String>>);
    impl lockwarden_std::ResourceLookup for Recording {
        fn resource(&self, path: &str) -> Resource {
            self.0.lock().unwrap().push(path.to_owned());
            Resource::missing()
        }
    }
    let recording = Recording(std::sync::Mutex::new(Vec::new()));
    let _ = Resources::of::<64>(&parts, &recording);
    assert_eq!(*recording.0.lock().unwrap(), ["/config/a", "/config/b"]);
}

#[test]
fn a_refusal_becomes_a_response_with_the_cores_status_headers_and_body() {
    let manager = manager();
    let root = Path::new("/config").unwrap();
    manager
        .lock(&LockRequest::exclusive(&root, "alice's laptop").depth(Depth::Infinity))
        .unwrap();
    let (parts, ()) = http::Request::put("/config/network")
        .body(())
        .unwrap()
        .into_parts();
    let resources = Resources::target(Resource::existing(None));
    let outcome = manager.check(&check_request(&parts, &resources, None));
    let Some(refusal) = outcome.refusal().cloned() else {
        panic!("{outcome:?}")
    };
    assert!(matches!(refusal, Refusal::Locked { .. }));
    let response = http_response(&outcome, Disclosure::default());
    assert_eq!(response.status(), StatusCode::LOCKED);
    for header in outcome.headers() {
        assert_eq!(
            response.headers()[header.name],
            header.value.as_str(),
            "{}",
            header.name
        );
    }
    let mut expected = [0u8; 1024];
    let n = outcome
        .body_into(&mut expected, Disclosure::default())
        .unwrap();
    assert_eq!(response.body().as_slice(), &expected[..n]);

    let hidden = http_response(&outcome, Disclosure { owner: false });
    assert!(!String::from_utf8_lossy(hidden.body()).contains("alice"));

    let rejection = LockRejection::new(refusal, BodyFormat::ProblemJson);
    assert!(
        rejection
            .to_string()
            .starts_with("423 Resource is locked: PUT /config/network")
    );
    assert_eq!(rejection.to_http().status(), StatusCode::LOCKED);
    #[cfg(feature = "axum")]
    assert_eq!(
        axum::response::IntoResponse::into_response(rejection).status(),
        StatusCode::LOCKED
    );
}

#[test]
fn a_granted_lock_becomes_a_response_with_its_lock_token() {
    let manager = manager();
    let (parts, ()) = http::Request::builder()
        .method("LOCK")
        .uri("/config")
        .header("Timeout", "Second-30")
        .body(())
        .unwrap()
        .into_parts();
    let body = br#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;
    let LockBody::Create(info) = parse_lock_body(body).unwrap() else {
        panic!("not a lockinfo")
    };
    let resources = Resources::target(Resource::existing(None));
    let outcome = manager.check(&check_request(&parts, &resources, Some(&info)));
    let Outcome::Granted {
        lock,
        created: false,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    let response = LockResponse::new(outcome.clone(), Disclosure::default()).to_http();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["lock-token"],
        format!("<{}>", lock.token)
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/xml; charset=\"utf-8\""
    );
    assert!(String::from_utf8_lossy(response.body()).contains("<D:timeout>Second-30</D:timeout>"));
}

#[test]
fn an_unlock_becomes_an_empty_204() {
    let response = http_response(&Outcome::<64, 64>::Unlocked, Disclosure::default());
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.body().is_empty());
    assert!(response.headers().get("content-type").is_none());
}

#[test]
fn the_managers_disclosure_hides_owners_in_refusals_and_lockdiscovery() {
    let manager = manager();
    assert!(manager.disclosure().owner);
    let path = Path::new("/config").unwrap();
    manager
        .lock(&LockRequest::exclusive(&path, "secret owner"))
        .unwrap();
    manager.set_disclosure(Disclosure { owner: false });
    let (parts, ()) = http::Request::put("/config").body(()).unwrap().into_parts();
    let resources = Resources::target(Resource::existing(None));
    let outcome = manager.check(&check_request(&parts, &resources, None));
    let response = LockResponse::new(outcome, manager.disclosure()).to_http();
    assert_eq!(response.status(), StatusCode::LOCKED);
    assert!(!String::from_utf8_lossy(response.body()).contains("secret owner"));
    let discovery = manager.lockdiscovery(&path, None);
    assert!(discovery.contains("<D:activelock>"));
    assert!(!discovery.contains("secret owner"), "{discovery}");
    assert!(
        manager
            .locks()
            .iter()
            .all(|l| l.owner_for(None, manager.disclosure()).is_none())
    );
}

#[test]
fn lockdiscovery_shows_a_token_to_its_principal_only() {
    let manager = manager();
    let path = Path::new("/config").unwrap();
    let granted = manager
        .lock(&LockRequest::exclusive(&path, "a &amp; b").principal("alice"))
        .unwrap();
    let for_bob = manager.lockdiscovery(&path, Some("bob"));
    let for_alice = manager.lockdiscovery(&path, Some("alice"));
    assert!(
        for_bob.contains("<D:owner>a &amp; b</D:owner>"),
        "{for_bob}"
    );
    assert!(!for_bob.contains(&granted.token.to_string()));
    assert!(for_alice.contains(&granted.token.to_string()));
    let none = manager.lockdiscovery(&Path::new("/other").unwrap(), None);
    let doc = roxmltree::Document::parse(&none).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "lockdiscovery");
    assert_eq!(doc.root_element().children().count(), 0);
}
