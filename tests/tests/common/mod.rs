//! A config-server started in-process on a free port, and clients to talk to it.
#![allow(dead_code)] // each test file uses its own subset of these helpers

use std::net::SocketAddr;
use std::sync::Arc;

use config_server::options::ServerOptions;
use config_server::{App, Settings};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// A running server; it stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// The server as `cargo run -p config-server` starts it, on a free port.
    pub async fn start() -> Self {
        Self::with_options(ServerOptions::default()).await
    }

    /// A server with these options.
    pub async fn with_options(options: ServerOptions) -> Self {
        Self::with_settings(Settings {
            options,
            enforcement_disabled: false,
        })
        .await
    }

    /// A server with these settings.
    pub async fn with_settings(settings: Settings) -> Self {
        let app = App::open(settings).expect("server starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(config_server::serve(
            listener,
            Arc::clone(&app),
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            app,
            stop: Some(stop),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client that neither retries nor follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .expect("client")
}

/// A WebDAV or other extension method.
pub fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("method name")
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn of(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// Sends `request` and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    Reply::of(request.send().await.expect("request")).await
}

/// A response to a request written byte for byte, as a client with odd habits (or a
/// hostile one) would send it.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Writes `request` (which should carry `Connection: close`) on a fresh connection and
/// reads the answer to the end.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawReply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut bytes = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut bytes),
    )
    .await
    .expect("answer within 10 s")
    .expect("read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    RawReply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A `lockinfo` body asking for a write lock.
pub fn lockinfo(scope: &str, owner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"#
    )
}

/// The token of a `Lock-Token: <…>` header.
pub fn lock_token(reply: &Reply) -> String {
    let value = reply
        .header("lock-token")
        .unwrap_or_else(|| panic!("no Lock-Token in {reply:?}"));
    value
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// Takes an exclusive WebDAV lock on `path` and returns its token.
pub async fn dav_lock(
    server: &TestServer,
    path: &str,
    owner: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut request = client()
        .request(method("LOCK"), server.url(path))
        .header("content-type", "application/xml")
        .body(lockinfo("exclusive", owner));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let reply = send(request).await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "LOCK {path}: {reply:?}"
    );
    lock_token(&reply)
}

/// Takes a lock the JSON way and returns the answer.
pub async fn json_lock(server: &TestServer, section: &str, body: serde_json::Value) -> Reply {
    send(
        client()
            .post(server.url(&format!("/config/{section}/lock")))
            .json(&body),
    )
    .await
}

/// A random token of the server's form that names no lock.
pub fn unknown_token() -> String {
    "urn:uuid:00000000-1111-4222-8333-444444444444".to_owned()
}
