//! The stored configuration is bounded: a flood of writes is refused once it would pass
//! a limit, and neither the served document nor its file grows past it or loses what was
//! stored before.

mod common;

use common::*;
use config_server::config::StoreLimits;
use config_server::options::ServerOptions;
use serde_json::{Value, json};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lw-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_writes_stops_at_the_limits_and_keeps_what_was_stored() {
    let dir = scratch("flood");
    let limits = StoreLimits::DEFAULT;
    let server = TestServer::with_options(ServerOptions {
        data_dir: Some(dir.clone()),
        ..ServerOptions::default()
    })
    .await;
    let sections: Vec<String> = send(client().get(server.url("/config")))
        .await
        .json()
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    let marker = send(
        client()
            .patch(server.url("/config/network"))
            .json(&json!({"marker": "kept"})),
    )
    .await;
    assert_eq!(marker.status, 200);

    let filler = "x".repeat(30_000);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..300 {
        let section = &sections[i % sections.len()];
        let reply = send(
            client()
                .patch(server.url(&format!("/config/{section}")))
                .json(&json!({ format!("k{i}"): filler })),
        )
        .await;
        match reply.status.as_u16() {
            200 => accepted += 1,
            507 => {
                refused += 1;
                let problem = reply.json();
                assert_eq!(
                    problem["type"],
                    "https://lockwarden.dev/problems/store-full"
                );
                let detail = problem["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.contains(&limits.document_bytes.to_string())
                        || detail.contains(&limits.section_bytes.to_string()),
                    "the refusal names the limit: {detail}"
                );
            }
            other => panic!("write {i}: unexpected {other}: {reply:?}"),
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );

    let served = send(client().get(server.url("/config"))).await;
    assert!(
        served.body.len() <= limits.document_bytes,
        "{} bytes served",
        served.body.len()
    );
    let document: Value = served.json();
    assert_eq!(document["network"]["marker"], "kept");
    for section in &sections {
        let one = send(client().get(server.url(&format!("/config/{section}")))).await;
        assert!(
            one.body.len() <= limits.section_bytes,
            "{section}: {} bytes",
            one.body.len()
        );
    }
    let stored = std::fs::read(dir.join("config.json")).expect("stored document");
    assert!(
        stored.len() <= limits.document_bytes,
        "{} bytes stored",
        stored.len()
    );
    assert_eq!(stored, served.body.as_bytes(), "the file is what is served");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_section_nested_deeper_than_the_limit_is_a_413_and_changes_nothing() {
    let server = TestServer::start().await;
    let before = send(client().get(server.url("/config/display"))).await;
    let mut deep = json!(1);
    for _ in 0..=StoreLimits::DEFAULT.depth {
        deep = json!({ "a": deep });
    }
    let reply = send(client().put(server.url("/config/display")).json(&deep)).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("16 levels"), "{}", reply.body);
    let after = send(client().get(server.url("/config/display"))).await;
    assert_eq!(before.body, after.body);
    // One level less fits.
    let fits = deep["a"].clone();
    let reply = send(client().put(server.url("/config/display")).json(&fits)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn a_write_that_shrinks_an_oversized_document_is_allowed() {
    let dir = scratch("shrink");
    std::fs::create_dir_all(&dir).unwrap();
    let big = json!({ "network": { "blob": "y".repeat(5_000) }, "wifi": {} });
    std::fs::write(dir.join("config.json"), big.to_string()).unwrap();
    let server = TestServer::with_options(ServerOptions {
        data_dir: Some(dir.clone()),
        max_document_bytes: 2_000,
        max_section_bytes: 2_000,
        ..ServerOptions::default()
    })
    .await;
    let grow = send(
        client()
            .patch(server.url("/config/wifi"))
            .json(&json!({"ssid": "more"})),
    )
    .await;
    assert_eq!(grow.status, 507, "{grow:?}");
    let shrink = send(
        client()
            .patch(server.url("/config/network"))
            .json(&json!({"blob": null})),
    )
    .await;
    assert_eq!(shrink.status, 200, "{shrink:?}");
    let grow = send(
        client()
            .patch(server.url("/config/wifi"))
            .json(&json!({"ssid": "more"})),
    )
    .await;
    assert_eq!(grow.status, 200, "{grow:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
