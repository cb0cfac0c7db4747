//! Refuses a request-target that carries a fragment (`DELETE /coll/#frag`).
//!
//! A fragment is not part of an HTTP request-target (RFC 9112 §3.2: origin-form is
//! `absolute-path [ "?" query ]`), and a server that drops it acts on another resource
//! than the client named: `DELETE /coll/#frag` would delete `/coll/` (litmus `basic`
//! test `delete_fragment`). The `http` crate that hyper uses cuts the fragment off while
//! parsing the request line, before any handler can see it, so the check happens below
//! hyper: [`FragmentGuard`] follows HTTP/1.1 message framing on the bytes a client sends
//! and turns a `#` inside a request-target into a NUL byte, which hyper refuses with
//! `400 Bad Request`. Bodies are counted (`Content-Length`, chunked) and never touched;
//! if the framing cannot be followed, the guard stands aside and hyper's own parser
//! decides.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The longest header or chunk-size line kept for inspection; longer lines are only
/// counted (the headers that matter for framing are short).
const LINE: usize = 256;

/// Where in the stream of requests the next byte belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The request line; `spaces` counts the spaces seen (the target follows the first).
    RequestLine { spaces: u8, length: usize },
    /// A header line.
    Header,
    /// A body of known length.
    Body { remaining: u64 },
    /// The size line of a chunk.
    ChunkSize,
    /// Chunk data.
    ChunkData { remaining: u64 },
    /// The CRLF after chunk data.
    ChunkEnd,
    /// Trailer fields after the last chunk.
    Trailer,
    /// The framing was lost: everything passes unchanged.
    Opaque,
}

/// The framing of the requests on one connection.
#[derive(Debug)]
struct Framing {
    state: State,
    line: Vec<u8>,
    truncated: bool,
    content_length: Option<u64>,
    chunked: bool,
}

impl Framing {
    fn new() -> Self {
        Framing {
            state: State::RequestLine {
                spaces: 0,
                length: 0,
            },
            line: Vec::with_capacity(LINE),
            truncated: false,
            content_length: None,
            chunked: false,
        }
    }

    /// Follows `bytes`, the next bytes from the client, neutralising fragments in
    /// request-targets. Returns how many fragments were found.
    fn scan(&mut self, bytes: &mut [u8]) -> usize {
        let mut fragments = 0;
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Body { remaining } | State::ChunkData { remaining } => {
                    let take = remaining.min((bytes.len() - i) as u64);
                    i += take as usize;
                    let remaining = remaining - take;
                    self.state = match (self.state, remaining) {
                        (State::Body { .. }, 0) => Self::request_line(),
                        (State::Body { .. }, _) => State::Body { remaining },
                        (_, 0) => State::ChunkEnd,
                        (_, _) => State::ChunkData { remaining },
                    };
                    continue;
                }
                State::Opaque => return fragments,
                _ => {}
            }
            let byte = &mut bytes[i];
            i += 1;
            match self.state {
                State::RequestLine { spaces, length } => {
                    if *byte == b'\n' {
                        // Empty lines before a request line are allowed (RFC 9112 §2.2).
                        if length > 0 {
                            self.content_length = None;
                            self.chunked = false;
                            self.start_line(State::Header);
                        }
                    } else if *byte == b'\r' {
                    } else {
                        let spaces = spaces.saturating_add(u8::from(*byte == b' '));
                        if spaces == 1 && *byte == b'#' {
                            *byte = 0;
                            fragments += 1;
                        }
                        self.state = State::RequestLine {
                            spaces,
                            length: length + 1,
                        };
                    }
                }
                State::Header | State::ChunkSize | State::Trailer => {
                    if *byte == b'\n' {
                        self.end_line();
                    } else if self.line.len() < LINE {
                        self.line.push(*byte);
                    } else {
                        self.truncated = true;
                    }
                }
                State::ChunkEnd => {
                    if *byte == b'\n' {
                        self.start_line(State::ChunkSize);
                    }
                }
                State::Body { .. } | State::ChunkData { .. } | State::Opaque => {}
            }
        }
        fragments
    }

    fn request_line() -> State {
        State::RequestLine {
            spaces: 0,
            length: 0,
        }
    }

    fn start_line(&mut self, state: State) {
        self.state = state;
        self.line.clear();
        self.truncated = false;
    }

    fn end_line(&mut self) {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let line = std::mem::take(&mut self.line);
        let next = match self.state {
            State::Header if line.is_empty() && !self.truncated => self.body(),
            State::Header => self.header(&line),
            State::ChunkSize => chunk_size(&line).map_or(State::Opaque, |size| match size {
                0 => State::Trailer,
                size => State::ChunkData { remaining: size },
            }),
            State::Trailer if line.is_empty() && !self.truncated => Self::request_line(),
            other => other,
        };
        self.line = line;
        self.start_line(next);
    }

    /// The state after a header field (RFC 9112 §6.1–§6.3 for the two that frame a body).
    fn header(&mut self, line: &[u8]) -> State {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return State::Header;
        };
        let name = line[..colon].to_ascii_lowercase();
        let value = line[colon + 1..].trim_ascii().to_ascii_lowercase();
        match name.as_slice() {
            b"content-length" if !self.truncated => {
                match std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    Some(length) if self.content_length.is_none_or(|l| l == length) => {
                        self.content_length = Some(length);
                        State::Header
                    }
                    _ => State::Opaque,
                }
            }
            b"transfer-encoding" if !self.truncated && value.ends_with(b"chunked") => {
                self.chunked = true;
                State::Header
            }
            b"content-length" | b"transfer-encoding" => State::Opaque,
            _ => State::Header,
        }
    }

    fn body(&self) -> State {
        match (self.chunked, self.content_length) {
            (true, _) => State::ChunkSize,
            (false, Some(length)) if length > 0 => State::Body { remaining: length },
            (false, _) => Self::request_line(),
        }
    }
}

/// The size of a chunk from its size line (`1a;ext=1`).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.split(|&b| b == b';').next()?.trim_ascii();
    let digits = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(digits, 16).ok()
}

/// A connection whose request-targets are checked for fragments.
#[derive(Debug)]
pub struct FragmentGuard<S> {
    inner: S,
    framing: Framing,
}

impl<S> FragmentGuard<S> {
    /// Guards `inner`, a connection at the start of a request.
    pub fn new(inner: S) -> Self {
        FragmentGuard {
            inner,
            framing: Framing::new(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FragmentGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && let Some(new) = buf.filled_mut().get_mut(before..)
            && this.framing.scan(new) > 0
        {
            tracing::info!("request-target with a fragment refused");
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FragmentGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A TCP listener whose connections are [`FragmentGuard`]ed.
#[derive(Debug)]
pub struct GuardedListener(pub TcpListener);

impl axum::serve::Listener for GuardedListener {
    type Io = FragmentGuard<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.0).await;
        (FragmentGuard::new(stream), address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes and returns what comes out.
    fn guarded(input: &[u8], piece: usize) -> Vec<u8> {
        let mut framing = Framing::new();
        let mut out = input.to_vec();
        for part in out.chunks_mut(piece) {
            framing.scan(part);
        }
        out
    }

    fn every_split(input: &[u8]) -> Vec<u8> {
        let whole = guarded(input, input.len());
        for piece in 1..input.len() {
            assert_eq!(guarded(input, piece), whole, "in pieces of {piece}");
        }
        whole
    }

    #[test]
    fn a_fragment_in_a_request_target_is_neutralised() {
        let out = every_split(b"DELETE /litmus/frag/#ment HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            out,
            b"DELETE /litmus/frag/\0ment HTTP/1.1\r\nHost: x\r\n\r\n"
        );
    }

    #[test]
    fn a_hash_outside_the_request_target_is_left_alone() {
        let input = b"GET /a HTTP/1.1\r\nX-Note: #1\r\n\r\n";
        assert_eq!(every_split(input), input);
    }

    #[test]
    fn a_body_of_known_length_is_never_touched() {
        let input = b"PUT /a HTTP/1.1\r\nContent-Length: 29\r\n\r\nGET /#x HTTP/1.1\r\n\r\n#########GET /b#c HTTP/1.1\r\n\r\n";
        let out = every_split(input);
        assert_eq!(&out[..68], &input[..68]);
        assert_eq!(&out[68..], b"GET /b\0c HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn a_chunked_body_is_never_touched() {
        let input = b"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8;x=y\r\nGET /#x \r\n0\r\nTrailer: #\r\n\r\nDELETE /c#d HTTP/1.1\r\n\r\n";
        let out = every_split(input);
        let split = input.len() - b"DELETE /c#d HTTP/1.1\r\n\r\n".len();
        assert_eq!(&out[..split], &input[..split]);
        assert_eq!(&out[split..], b"DELETE /c\0d HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn framing_it_cannot_follow_is_left_to_hyper() {
        let input = b"PUT /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcGET /#x HTTP/1.1\r\n\r\n";
        assert_eq!(every_split(input), input);
        let input = b"PUT /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /#x HTTP/1.1\r\n\r\n";
        assert_eq!(every_split(input), input);
    }

    #[test]
    fn empty_lines_before_a_request_are_skipped() {
        assert_eq!(
            every_split(b"\r\n\r\nGET /#f HTTP/1.1\r\n\r\n"),
            b"\r\n\r\nGET /\0f HTTP/1.1\r\n\r\n"
        );
    }
}
