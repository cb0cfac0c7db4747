//! webdav-server: lockwarden answers every locking question before dav-server does. Each
//! test talks to the server over a real socket, one keep-alive connection, and checks
//! that a refused write left the content unchanged.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use webdav_server::Options;

/// A server on a free port; it stops when dropped.
struct Server {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _purger: lockwarden_std::Purger,
}

impl Server {
    async fn start(options: Options) -> Server {
        let (router, purger) = webdav_server::router(&options).expect("server starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(webdav_server::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            _purger: purger,
        }
    }

    async fn default() -> Server {
        Server::start(Options::default()).await
    }

    async fn connect(&self) -> Conn {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        Conn {
            stream: BufReader::new(stream),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One HTTP/1.1 connection, kept alive across requests.
struct Conn {
    stream: BufReader<TcpStream>,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn lock_token(&self) -> String {
        self.header("lock-token")
            .unwrap_or_else(|| panic!("no Lock-Token in {self:?}"))
            .trim_matches(|c| c == '<' || c == '>')
            .to_owned()
    }

    /// The `DAV:timeout` of a lockdiscovery body.
    fn timeout(&self) -> String {
        let doc = roxmltree::Document::parse(&self.body).unwrap();
        doc.descendants()
            .find(|n| n.has_tag_name(("DAV:", "timeout")))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned()
    }
}

impl Conn {
    /// Sends a request with raw header bytes (so that any value can be sent) and reads
    /// the whole answer.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Reply {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n").into_bytes();
        for (name, value) in headers {
            request.extend_from_slice(name.as_bytes());
            request.extend_from_slice(b": ");
            request.extend_from_slice(value);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        self.stream.get_mut().write_all(&request).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.read_reply())
            .await
            .expect("an answer within 20 s")
    }

    async fn read_reply(&mut self) -> Reply {
        let mut line = String::new();
        let n = self.stream.read_line(&mut line).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut size = String::new();
                self.stream.read_line(&mut size).await.unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(len) = find("content-length") {
            let mut chunk = vec![0; len.parse().unwrap()];
            self.stream.read_exact(&mut chunk).await.unwrap();
            body = chunk;
        }
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn put(&mut self, path: &str, content: &str, headers: &[(&str, &[u8])]) -> Reply {
        self.send("PUT", path, headers, content.as_bytes()).await
    }

    async fn get(&mut self, path: &str) -> String {
        let reply = self.send("GET", path, &[], b"").await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }

    async fn lock(&mut self, path: &str, headers: &[(&str, &[u8])], owner: &str) -> Reply {
        self.send(
            "LOCK",
            path,
            headers,
            lockinfo("exclusive", owner).as_bytes(),
        )
        .await
    }
}

fn lockinfo(scope: &str, owner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"#
    )
}

/// A server holding `/doc.txt` with `original`, and a connection to it.
async fn with_document() -> (Server, Conn) {
    let server = Server::default().await;
    let mut conn = server.connect().await;
    let created = conn.put("/doc.txt", "original", &[]).await;
    assert!(
        created.status == 201 || created.status == 204,
        "{created:?}"
    );
    (server, conn)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_malformed_if_header_is_400_the_write_is_not_performed_and_the_connection_stays_open()
{
    let (server, mut conn) = with_document().await;
    let nested = "(".repeat(100_000);
    let long_token = format!("(<urn:uuid:{}>)", "a".repeat(4096));
    let hostile: Vec<&[u8]> = vec![
        b"(<urn:uuid:x>",
        b"<urn:uuid:x>)",
        b"()",
        b"(Not)",
        b"<http://test/doc.txt>",
        b"garbage",
        b"(<>)",
        nested.as_bytes(),
        long_token.as_bytes(),
    ];
    for value in hostile {
        let shown = String::from_utf8_lossy(&value[..value.len().min(40)]).into_owned();
        let reply = conn.put("/doc.txt", "changed", &[("If", value)]).await;
        assert_eq!(reply.status, 400, "If: {shown}: {reply:?}");
        assert!(
            reply.body.contains("If"),
            "If: {shown}: the answer names the header: {reply:?}"
        );
        // The same connection serves the next request, and the content is unchanged.
        assert_eq!(conn.get("/doc.txt").await, "original", "If: {shown}");
    }
    // Control bytes are not allowed in any header value (RFC 9110 §5.5): hyper refuses
    // the request while parsing it, before any handler, with 400 and a closed connection.
    for value in [&b"(<urn:\x01uuid:x>)"[..], b"(<urn:\x7fuuid:x>)"] {
        let mut conn = server.connect().await;
        let reply = conn.put("/doc.txt", "changed", &[("If", value)]).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        let mut next = server.connect().await;
        assert_eq!(next.get("/doc.txt").await, "original");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tagged_list_whose_tag_is_an_absolute_path_submits_its_token() {
    let (_server, mut conn) = with_document().await;
    let token = conn.lock("/doc.txt", &[], "a").await.lock_token();
    let refused = conn.put("/doc.txt", "changed", &[]).await;
    assert_eq!(refused.status, 423);
    assert_eq!(conn.get("/doc.txt").await, "original");
    let if_value = format!("</doc.txt> (<{token}>)");
    let written = conn
        .put("/doc.txt", "changed", &[("If", if_value.as_bytes())])
        .await;
    assert!(
        written.status == 200 || written.status == 204,
        "{written:?}"
    );
    assert_eq!(conn.get("/doc.txt").await, "changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_with_a_token_without_angle_brackets_is_400_and_the_lock_stays() {
    let (_server, mut conn) = with_document().await;
    let token = conn.lock("/doc.txt", &[], "a").await.lock_token();
    let reply = conn
        .send(
            "UNLOCK",
            "/doc.txt",
            &[("Lock-Token", token.as_bytes())],
            b"",
        )
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(conn.put("/doc.txt", "changed", &[]).await.status, 423);
    assert_eq!(conn.get("/doc.txt").await, "original");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_takes_the_first_choice_the_policy_accepts() {
    // RFC 4918 §10.7; the same policy as config-server's, not dav-server's own.
    let (_server, mut conn) = with_document().await;
    let reply = conn
        .lock("/doc.txt", &[("Timeout", b"Second-3, Infinite")], "a")
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.timeout(), "Second-3");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_second_0_grants_a_lock_of_one_second_that_blocks_writes() {
    let (_server, mut conn) = with_document().await;
    let reply = conn
        .lock("/doc.txt", &[("Timeout", b"Second-0")], "a")
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.timeout(), "Second-1");
    assert_eq!(conn.put("/doc.txt", "changed", &[]).await.status, 423);
    assert_eq!(conn.get("/doc.txt").await, "original");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_without_timeout_keeps_the_locks_granted_timeout() {
    let (_server, mut conn) = with_document().await;
    let token = conn
        .lock("/doc.txt", &[("Timeout", b"Second-3000")], "a")
        .await
        .lock_token();
    let if_value = format!("(<{token}>)");
    let refreshed = conn
        .send("LOCK", "/doc.txt", &[("If", if_value.as_bytes())], b"")
        .await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(refreshed.timeout(), "Second-3000");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_foreign_elements_in_lockinfo_are_ignored() {
    // RFC 4918 §17: unknown elements MUST be ignored.
    let (_server, mut conn) = with_document().await;
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:" xmlns:z="urn:vendor"><z:priority>high</z:priority><D:lockscope><D:exclusive/><z:note/></D:lockscope><D:locktype><D:write/></D:locktype><z:extra><z:deeper/></z:extra></D:lockinfo>"#;
    let reply = conn.send("LOCK", "/doc.txt", &[], body.as_bytes()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_depth_on_lock_is_400_and_takes_no_lock() {
    let (_server, mut conn) = with_document().await;
    let reply = conn.lock("/doc.txt", &[("Depth", b"infinityX")], "a").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("Depth"), "{}", reply.body);
    let written = conn.put("/doc.txt", "changed", &[]).await;
    assert!(
        written.status == 200 || written.status == 204,
        "{written:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_423_to_put_is_a_dav_error_by_default_and_problem_json_when_asked() {
    let server = Server::default().await;
    let mut conn = server.connect().await;
    assert_eq!(conn.send("MKCOL", "/dir/", &[], b"").await.status, 201);
    assert_eq!(conn.put("/dir/doc.txt", "original", &[]).await.status, 201);
    conn.send(
        "LOCK",
        "/dir/",
        &[("Depth", b"infinity")],
        lockinfo("exclusive", "a").as_bytes(),
    )
    .await;
    let xml = conn.put("/dir/doc.txt", "changed", &[]).await;
    assert_eq!(xml.status, 423);
    assert!(
        xml.header("content-type")
            .unwrap()
            .starts_with("application/xml")
    );
    let doc = roxmltree::Document::parse(&xml.body).unwrap();
    let condition = doc.root_element().first_element_child().unwrap();
    assert!(condition.has_tag_name(("DAV:", "lock-token-submitted")));
    assert_eq!(
        condition
            .descendants()
            .find(|n| n.has_tag_name(("DAV:", "href")))
            .and_then(|n| n.text()),
        Some("/dir")
    );
    let json = conn
        .put(
            "/dir/doc.txt",
            "changed",
            &[("Accept", b"application/problem+json")],
        )
        .await;
    assert_eq!(json.status, 423);
    assert_eq!(
        json.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(conn.get("/dir/doc.txt").await, "original");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_dav_server_cannot_express_come_from_the_core() {
    let server = Server::start(Options {
        users: vec!["alice:pw".into(), "bob:pw".into()],
        max_locks_per_user: 1,
        ..Options::default()
    })
    .await;
    let mut conn = server.connect().await;
    let alice: &[u8] = b"Basic YWxpY2U6cHc="; // alice:pw
    let bob: &[u8] = b"Basic Ym9iOnB3"; // bob:pw
    let auth = |who| [("Authorization", who)];
    assert_eq!(conn.put("/a.txt", "a", &auth(alice)).await.status, 201);
    assert_eq!(
        conn.send("MKCOL", "/dir/", &auth(alice), b"").await.status,
        201
    );
    assert_eq!(conn.put("/dir/b.txt", "b", &auth(alice)).await.status, 201);
    let token = conn
        .lock("/a.txt", &auth(alice), "alice")
        .await
        .lock_token();
    // 403: alice holds her one lock.
    let quota = conn.lock("/dir/b.txt", &auth(alice), "alice").await;
    assert_eq!(quota.status, 403, "{quota:?}");
    assert!(quota.body.contains("lock-quota-exceeded"), "{}", quota.body);
    // 403: bob presents alice's token.
    let if_value = format!("(<{token}>)");
    let forbidden = conn
        .put(
            "/a.txt",
            "bob",
            &[("Authorization", bob), ("If", if_value.as_bytes())],
        )
        .await;
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    assert_eq!(conn.get_as("/a.txt", alice).await, "a");
    // 414: a path longer than the table holds.
    let long = format!("/{}", "x".repeat(600));
    let too_long = conn.put(&long, "x", &auth(alice)).await;
    assert_eq!(too_long.status, 414, "{too_long:?}");
}

impl Conn {
    async fn get_as(&mut self, path: &str, who: &[u8]) -> String {
        let reply = self.send("GET", path, &[("Authorization", who)], b"").await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_depth_infinity_lock_blocked_below_is_207_with_423_for_the_member() {
    let server = Server::default().await;
    let mut conn = server.connect().await;
    assert_eq!(conn.send("MKCOL", "/dir/", &[], b"").await.status, 201);
    assert_eq!(conn.put("/dir/b.txt", "b", &[]).await.status, 201);
    conn.lock("/dir/b.txt", &[], "member").await;
    let blocked = conn
        .send(
            "LOCK",
            "/dir/",
            &[("Depth", b"infinity")],
            lockinfo("exclusive", "x").as_bytes(),
        )
        .await;
    assert_eq!(blocked.status, 207, "{blocked:?}");
    assert!(blocked.body.contains("423"), "{}", blocked.body);
    assert!(blocked.body.contains("424"), "{}", blocked.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_comes_back_intact_in_propfind_lockdiscovery_or_hidden_when_asked() {
    let owner = r#"<x:name xmlns:x="urn:x">Alice &amp; Co</x:name>"#;
    for hide in [false, true] {
        let server = Server::start(Options {
            hide_owners: hide,
            ..Options::default()
        })
        .await;
        let mut conn = server.connect().await;
        assert_eq!(conn.put("/doc.txt", "original", &[]).await.status, 201);
        assert_eq!(conn.lock("/doc.txt", &[], owner).await.status, 200);
        let propfind = conn
            .send(
                "PROPFIND",
                "/doc.txt",
                &[("Depth", b"0")],
                br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#,
            )
            .await;
        assert_eq!(propfind.status, 207, "{propfind:?}");
        let doc = roxmltree::Document::parse(&propfind.body).unwrap();
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name(("DAV:", "activelock")))
        );
        let name = doc
            .descendants()
            .find(|n| n.has_tag_name(("urn:x", "name")));
        if hide {
            assert!(name.is_none(), "{}", propfind.body);
            assert!(!propfind.body.contains("Alice"), "{}", propfind.body);
        } else {
            assert_eq!(
                name.and_then(|n| n.text()),
                Some("Alice & Co"),
                "{}",
                propfind.body
            );
        }
        let refused = conn
            .put("/doc.txt", "x", &[("Accept", b"application/problem+json")])
            .await;
        assert_eq!(refused.status, 423);
        assert_eq!(
            refused.body.contains("Alice & Co"),
            !hide,
            "{}",
            refused.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_on_an_unmapped_url_creates_an_empty_resource_with_201() {
    let server = Server::default().await;
    let mut conn = server.connect().await;
    let reply = conn.lock("/new.txt", &[], "a").await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(conn.get("/new.txt").await, "");
    let orphan = conn.lock("/missing/new.txt", &[], "a").await;
    assert_eq!(orphan.status, 409, "{orphan:?}");
    let unlocked = conn.put("/missing2.txt", "x", &[]).await;
    assert_eq!(
        unlocked.status, 201,
        "no lock was left behind: {unlocked:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_table_is_503_with_retry_after() {
    let server = Server::start(Options {
        default_timeout: 60,
        ..Options::default()
    })
    .await;
    let mut conn = server.connect().await;
    for i in 0..lockwarden_std::manager::DEFAULT_LOCKS {
        let reply = conn.lock(&format!("/f{i}"), &[], "filler").await;
        assert_eq!(reply.status, 201, "lock {i}: {reply:?}");
    }
    let full = conn.lock("/one-more", &[], "x").await;
    assert_eq!(full.status, 503, "{full:?}");
    let retry: u32 = full.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_larger_than_the_layers_default_body_limit_can_be_put() {
    // The lock layer reads each body whole before its check; a file server passes a
    // limit sized for files, not for configuration documents.
    let server = Server::default().await;
    let mut conn = server.connect().await;
    let big = "x".repeat(8 * lockwarden_std::BodyLimits::DEFAULT.max_bytes);
    let reply = conn.put("/big.bin", &big, &[]).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(conn.get("/big.bin").await.len(), big.len());
    let small = Server::start(Options {
        max_body_bytes: 1024,
        ..Options::default()
    })
    .await;
    let mut conn = small.connect().await;
    let refused = conn.put("/big.bin", &"x".repeat(2048), &[]).await;
    assert_eq!(refused.status, 413, "{refused:?}");
    // A WebDAV client's refusal is XML, as every other one here.
    assert!(
        refused
            .header("content-type")
            .unwrap()
            .starts_with("application/xml"),
        "{refused:?}"
    );
}
