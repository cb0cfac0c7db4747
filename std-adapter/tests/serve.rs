//! The lock layer on a served router: over a real socket (custom methods such as LOCK go
//! through hyper), and under concurrent clients that lock, read, write and unlock.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::StatusCode;
use http_body_util::BodyExt;
use lockwarden::Policy;
use lockwarden_std::{LockLayer, LockManager, Resource, Resources, TICK_HZ};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tower::ServiceExt;

#[derive(Clone)]
struct Counter {
    manager: LockManager,
    value: Arc<Mutex<u64>>,
}

/// `GET` reads the counter, `PUT` replaces it, `LOCK`/`UNLOCK` go to the manager.
async fn counter(State(app): State<Counter>, request: Request) -> Response {
    match request.method().as_str() {
        "LOCK" | "UNLOCK" => {
            let resources = Resources::target(Resource::existing(None));
            app.manager
                .respond(request, &resources)
                .await
                .into_response()
        }
        "GET" => app.value.lock().await.to_string().into_response(),
        "PUT" => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let Ok(value) = std::str::from_utf8(&body).unwrap_or("").parse::<u64>() else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            *app.value.lock().await = value;
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

fn app() -> (Router, Counter) {
    let manager: LockManager = LockManager::new(Policy::new(TICK_HZ)).unwrap();
    let state = Counter {
        manager: manager.clone(),
        value: Arc::new(Mutex::new(0)),
    };
    let router = Router::new()
        .route("/counter", any(counter))
        .with_state(state.clone())
        .layer(LockLayer::new(manager));
    (router, state)
}

const LOCKINFO: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>client</D:owner></D:lockinfo>"#;

/// One HTTP/1.1 exchange on a fresh connection; returns the status and the whole text.
async fn exchange(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[tokio::test]
async fn over_a_socket_a_lock_refuses_a_write_until_its_token_is_sent() {
    let (router, _state) = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let run = async {
        let (status, locked) = exchange(
            addr,
            "LOCK /counter HTTP/1.1\r\nTimeout: Second-30",
            LOCKINFO,
        )
        .await;
        assert_eq!(status, 200, "{locked}");
        let token = locked
            .lines()
            .find_map(|l| {
                l.strip_prefix("lock-token: ")
                    .or_else(|| l.strip_prefix("Lock-Token: "))
            })
            .unwrap()
            .trim()
            .to_owned();

        let (status, refused) = exchange(addr, "PUT /counter HTTP/1.1", "1").await;
        assert_eq!(status, 423, "{refused}");
        assert!(refused.contains("retry-after: 30"), "{refused}");
        assert!(refused.contains("\"lockRoot\":\"/counter\""), "{refused}");

        let (status, _) = exchange(
            addr,
            &format!("PUT /counter HTTP/1.1\r\nIf: ({token})"),
            "1",
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = exchange(
            addr,
            &format!("UNLOCK /counter HTTP/1.1\r\nLock-Token: {token}"),
            "",
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = exchange(addr, "PUT /counter HTTP/1.1", "2").await;
        assert_eq!(status, 204);
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the exchanges took too long");
    server.abort();
}

/// One client's cycles: LOCK (retrying while locked), GET, PUT the value + 1 with the
/// token, UNLOCK. Returns the completed cycles.
async fn client(router: Router, cycles: usize) -> usize {
    let mut done = 0;
    for _ in 0..cycles {
        let token = loop {
            let lock = http::Request::builder()
                .method("LOCK")
                .uri("/counter")
                .header("Timeout", "Second-60")
                .body(Body::from(LOCKINFO))
                .unwrap();
            let response = router.clone().oneshot(lock).await.unwrap();
            match response.status() {
                StatusCode::OK => {
                    break response.headers()["lock-token"]
                        .to_str()
                        .unwrap()
                        .to_owned();
                }
                StatusCode::LOCKED => tokio::time::sleep(Duration::from_millis(1)).await,
                other => panic!("LOCK answered {other}"),
            }
        };
        let get = http::Request::get("/counter").body(Body::empty()).unwrap();
        let body = router
            .clone()
            .oneshot(get)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        let value: u64 = std::str::from_utf8(&body.to_bytes())
            .unwrap()
            .parse()
            .unwrap();
        tokio::task::yield_now().await;
        let put = http::Request::put("/counter")
            .header("If", format!("({token})"))
            .body(Body::from((value + 1).to_string()))
            .unwrap();
        assert_eq!(
            router.clone().oneshot(put).await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
        let unlock = http::Request::builder()
            .method("UNLOCK")
            .uri("/counter")
            .header("Lock-Token", &token)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            router.clone().oneshot(unlock).await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
        done += 1;
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_lock_read_write_unlock_cycles_lose_no_update() {
    let (router, state) = app();
    let run = async {
        let tasks: Vec<_> = (0..16)
            .map(|_| tokio::spawn(client(router.clone(), 20)))
            .collect();
        let mut completed = 0;
        for task in tasks {
            completed += task.await.unwrap();
        }
        completed
    };
    let completed = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the cycles took too long");
    assert_eq!(completed, 16 * 20);
    assert_eq!(*state.value.lock().await, completed as u64);
    assert!(state.manager.is_empty());
}
