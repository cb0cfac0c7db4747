#!/usr/bin/env python3
"""Drives the configuration-API firmware (serve.sh) over a host TCP port, as clients do.

Starts `serve.sh PORT` (QEMU, the board's Ethernet forwarded from 127.0.0.1:PORT), then:
a LOCK, another client's PUT refused with the whole 423, the holder's PUT with its token,
the lock expiring by the firmware's ticks, an UNLOCK; then malformed requests (garbage
bytes, a 4 KiB header, a malformed If, bad lockinfo and JSON bodies, a client that
disconnects mid-request, one that stops sending) each answered as it should be, with a
request after each showing that the firmware still serves. Ends with requests per second
over the link, then stops QEMU. Exit status 0 when every check held.

Usage: check-serve.py [--port N] [--keep-log FILE] [--features F] [--parts story,...]   (python3, standard library only)
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT_SECONDS = 180  # includes the build serve.sh starts with
IO_TIMEOUT = 10.0
LOCK_SECONDS = 3
OWNER_A = "client A (network tool)"
URN = re.compile(r"^<(urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})>$")

LOCKINFO = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope>'
    "<D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"
)
NETWORK = {
    "hostname": "lw-device",
    "dhcp": True,
    "address": "192.168.1.50",
    "netmask": "255.255.255.0",
    "gateway": "192.168.1.1",
    "mtu": 1500,
}

passed = 0
failed = 0


def check(what, holds, shown=None):
    global passed, failed
    if holds:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
        if shown is not None:
            print("     got: " + repr(shown)[:1500])


class Response:
    def __init__(self, status, reason, headers, body, closed):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.closed = closed  # the firmware closed the connection after it

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:600]!r}>"


def read_response(sock, head_only=False):
    """Reads one response (head and Content-Length body) from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection closed before a response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"^HTTP/1\.1 (\d{3}) (.*)$", lines[0])
    if not match:
        raise ConnectionError(f"not an HTTP/1.1 status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        raise ConnectionError(f"no Content-Length: {head!r}")
    if head_only:
        length = 0
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed inside a body")
        rest += chunk
    body, extra = rest[:length], rest[length:]
    if extra:
        raise ConnectionError(f"bytes after the body: {extra!r}")
    return Response(int(match.group(1)), match.group(2), headers, body.decode("utf-8"), False)


def closed_by_peer(sock, wait=10.0):
    """Whether the server closes the connection (EOF or reset) within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Client:
    def __init__(self, port):
        self.port = port

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT)
        sock.settimeout(IO_TIMEOUT)
        return sock

    def raw(self, data, expect_close=False, head_only=False):
        """Sends bytes on a new connection and reads one response."""
        with self.connect() as sock:
            sock.sendall(data)
            response = read_response(sock, head_only)
            if expect_close:
                # Told `Connection: close`, a client closes its side; the server's follows.
                announced = (response.header("connection") or "").lower() == "close"
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # already reset by the server
                response.closed = announced and closed_by_peer(sock)
            return response

    def request(self, method, path, headers=None, body=None):
        body_bytes = body.encode() if isinstance(body, str) else (body or b"")
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body_bytes)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body_bytes
        return self.raw(data, head_only=method == "HEAD")


def lockinfo(owner, scope="exclusive"):
    return LOCKINFO.format(scope=scope, owner=owner)


def token_of(response):
    match = URN.match(response.header("lock-token") or "")
    return match.group(1) if match else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(client, proc):
    deadline = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if client.request("GET", "/config").status == 200:
                return True
        except (OSError, ConnectionError):
            pass
        time.sleep(0.3)
    return False


def story(c):
    """The README's transcript: LOCK, 423, the holder's PUT, expiry by ticks, UNLOCK."""
    r = c.request("GET", "/config/network")
    check("GET /config/network answers 200 with the default section", r.status == 200 and r.json() == NETWORK, r)
    check("GET answers an entity tag", re.fullmatch(r'"\d+"', r.header("etag") or "") is not None, r)

    r = c.request("LOCK", "/config/network",
                  {"Timeout": f"Second-{LOCK_SECONDS}", "Content-Type": "application/xml"},
                  lockinfo(OWNER_A))
    token = token_of(r)
    locked_at = time.monotonic()
    check("A's LOCK is granted (200) with a Lock-Token", r.status == 200 and token is not None, r)
    try:
        xml = ET.fromstring(r.body)
    except ET.ParseError:
        xml = None
    d = "{DAV:}"
    active = xml.find(f"{d}lockdiscovery/{d}activelock") if xml is not None else None
    check(
        "the lockdiscovery body shows the owner, the timeout, the token and the root",
        active is not None
        and active.findtext(f"{d}owner") == OWNER_A
        and active.findtext(f"{d}timeout") == f"Second-{LOCK_SECONDS}"
        and active.findtext(f"{d}locktoken/{d}href") == token
        and active.findtext(f"{d}lockroot/{d}href") == "/config/network"
        and active.find(f"{d}lockscope/{d}exclusive") is not None,
        r,
    )

    b_doc = dict(NETWORK, hostname="from-b")
    r = c.request("PUT", "/config/network", {"Content-Type": "application/json"}, json.dumps(b_doc))
    body = r.json() or {}
    check("B's PUT without the token is refused with 423 Locked", r.status == 423, r)
    check(
        "the 423 is problem+json, not cached, with Retry-After in whole seconds",
        r.header("content-type") == "application/problem+json"
        and r.header("cache-control") == "no-store"
        and r.header("retry-after") in {str(s) for s in range(1, LOCK_SECONDS + 1)},
        r,
    )
    check(
        "the 423 names the lock root, its scope and depth, its owner and the time left",
        body.get("type") == "https://lockwarden.dev/problems/resource-locked"
        and body.get("status") == 423
        and body.get("lockRoot") == "/config/network"
        and body.get("lockScope") == "exclusive"
        and body.get("lockDepth") == "infinity"
        and body.get("owner") == OWNER_A
        and body.get("expiresInSeconds") in range(1, LOCK_SECONDS + 1)
        and "If: (<token>)" in body.get("detail", ""),
        r,
    )
    check("the 423 does not carry the token", token is not None and token not in r.body and r.header("lock-token") is None, r)
    r = c.request("GET", "/config/network")
    check("the refused PUT changed nothing", r.json() == NETWORK, r)

    r = c.request("LOCK", "/config/network", {"Content-Type": "application/xml"}, lockinfo("client B"))
    check("B's LOCK on the locked section is refused with 423 (lock-conflict)",
          r.status == 423 and (r.json() or {}).get("type", "").endswith("/lock-conflict")
          or r.status == 423 and "no-conflicting-lock" in r.body, r)

    a_doc = dict(NETWORK, hostname="from-a")
    r = c.request("PUT", "/config/network", {"If": f"(<{token}>)", "Content-Type": "application/json"}, json.dumps(a_doc))
    check("A's PUT with If: (<token>) is allowed (204) with a new entity tag", r.status == 204 and r.header("etag") is not None, r)
    r = c.request("GET", "/config/network")
    check("A's write is stored", r.json() == a_doc, r)

    wrong = "urn:uuid:00000000-0000-4000-8000-000000000000"
    r = c.request("PUT", "/config/network", {"If": f"(<{wrong}>)"}, json.dumps(b_doc))
    check("a PUT naming a token that is no lock fails its If header (412)", r.status == 412, r)

    # Nobody unlocks: the firmware's SysTick count alone ends the lock. QEMU's SysTick
    # drops ticks when the host is busy, so the firmware's seconds run a little slow:
    # B retries as a client would, and the countdown the 423s show must reach its end.
    countdown = []
    deadline = locked_at + 4 * LOCK_SECONDS + 10
    while time.monotonic() < deadline:
        r = c.request("PUT", "/config/network", {"Content-Type": "application/json"}, json.dumps(b_doc))
        if r.status != 423:
            break
        countdown.append((r.json() or {}).get("expiresInSeconds"))
        time.sleep(0.25)
    expired_after = time.monotonic() - locked_at
    check(f"with no UNLOCK the lock expires by ticks and B's PUT is then allowed (204, after {expired_after:.1f} s)",
          r.status == 204 and expired_after >= LOCK_SECONDS - 0.5, r)
    check("until then B is refused, the time left counting down to its end",
          len(countdown) > 0 and countdown[-1] <= 2 and countdown == sorted(countdown, reverse=True)
          and all(isinstance(s, int) and 1 <= s <= LOCK_SECONDS for s in countdown), countdown)
    r = c.request("GET", "/config/network")
    check("B's write is stored", r.json() == b_doc, r)
    r = c.request("LOCK", "/config/network", {"If": f"(<{token}>)"})
    check("A's refresh after the expiry finds no lock (412)", r.status == 412, r)
    r = c.request("PUT", "/config/network", {"Content-Type": "application/json"}, json.dumps(NETWORK))
    check("the section is set back", r.status == 204, r)

    r = c.request("LOCK", "/config/wifi", {"Depth": "0", "Content-Type": "application/xml"}, lockinfo("client B (dashboard)", "shared"))
    b_token = token_of(r)
    check("B's shared LOCK on /config/wifi is granted", r.status == 200 and b_token is not None and "<D:shared/>" in r.body, r)
    r = c.request("LOCK", "/config", {"Content-Type": "application/xml"}, lockinfo("client C"))
    check("a depth-infinity LOCK on /config is blocked by the lock below it (207)",
          r.status == 207 and "/config/wifi" in r.body, r)
    r = c.request("UNLOCK", "/config/wifi")
    check("UNLOCK without Lock-Token is 400 (WebDAV method: DAV:error XML)",
          r.status == 400 and "Lock-Token" in r.body and r.header("content-type").startswith("application/xml"), r)
    r = c.request("UNLOCK", "/config/wifi", {"Lock-Token": f"<{b_token}>"})
    check("B's UNLOCK with its token is 204", r.status == 204, r)
    r = c.request("UNLOCK", "/config/wifi", {"Lock-Token": f"<{b_token}>"})
    check("a second UNLOCK finds no lock (409)", r.status == 409, r)
    r = c.request("PUT", "/config/wifi", {"Content-Type": "application/json"},
                  '{"enabled":true,"ssid":"workshop","security":"wpa2-psk","channel":11,"countryCode":"DE"}')
    check("after the UNLOCK anyone may write /config/wifi", r.status == 204, r)


def webdav(c):
    """The rest of what the firmware says about locks: HEAD, entity tags in If, refresh,
    an owner sent as markup, shared locks, a full table."""
    r = c.request("GET", "/config/display")
    etag = r.header("etag")
    h = c.request("HEAD", "/config/display")
    check("HEAD answers GET's headers without the body",
          h.status == 200 and h.header("etag") == etag and h.header("content-length") == str(len(r.body)) and h.body == "", h)
    doc = dict(r.json() or {}, brightness=40)
    r = c.request("PUT", "/config/display", {"If": '(["0"])'}, json.dumps(doc))
    check("a PUT whose If names a stale entity tag fails (412)", r.status == 412, r)
    r = c.request("PUT", "/config/display", {"If": f"([{etag}])"}, json.dumps(doc))
    check("a PUT whose If names the current entity tag is allowed (204)", r.status == 204 and r.header("etag") != etag, r)

    owner = "<href>mailto:c@d.example</href>"
    body = ('<?xml version="1.0"?><lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope>'
            f"<locktype><write/></locktype><owner>{owner}</owner></lockinfo>")
    r = c.request("LOCK", "/config/display", {"Depth": "0", "Timeout": "Second-30", "Content-Type": "application/xml"}, body)
    token = token_of(r)
    check("a lockinfo in the default DAV: namespace, owner sent as markup, is granted", r.status == 200 and token is not None, r)
    check("lockdiscovery gives the owner back as DAV:href markup, its namespace kept",
          owner_is_dav_href(r.body, "mailto:c@d.example"), r.body)
    r = c.request("PUT", "/config/display", {}, json.dumps(doc))
    shown = (r.json() or {}).get("owner", "")
    check("the 423 shows that owner",
          r.status == 423 and (shown == "mailto:c@d.example" or dav_href_text(shown) == "mailto:c@d.example"), r)
    r = c.request("LOCK", "/config/display", {"If": f"(<{token}>)", "Timeout": "Second-50"})
    check("a LOCK with If and no body refreshes the lock with the timeout asked (200)",
          r.status == 200 and "<D:timeout>Second-50</D:timeout>" in r.body and r.header("lock-token") is None, r)
    r = c.request("UNLOCK", "/config/display", {"Lock-Token": f"<{token}>"})
    check("its holder unlocks it", r.status == 204, r)

    tokens = []
    for i in range(4):
        r = c.request("LOCK", "/config/wifi", {"Depth": "0", "Timeout": "Second-30", "Content-Type": "application/xml"},
                      lockinfo(f"panel {i}", "shared"))
        tokens.append(token_of(r))
    check("four shared locks on one section are granted", all(tokens), tokens)
    r = c.request("LOCK", "/config/network", {"Timeout": "Second-30", "Content-Type": "application/xml"}, lockinfo("late"))
    body = r.json() or {}
    check("a fifth lock finds the table full: 503 with Retry-After (seconds until a slot frees)",
          r.status == 503 and r.header("retry-after") in {str(s) for s in range(25, 31)}, r)
    r = c.request("PUT", "/config/wifi", {"If": f"(<{tokens[2]}>)"},
                  '{"enabled":true,"ssid":"workshop","security":"wpa2-psk","channel":6,"countryCode":"DE"}')
    check("a holder of one of the shared locks may write", r.status == 204, r)
    for t in tokens:
        if t:
            c.request("UNLOCK", "/config/wifi", {"Lock-Token": f"<{t}>"})
    r = c.request("LOCK", "/config/network", {"Timeout": "Second-1", "Content-Type": "application/xml"}, lockinfo("late"))
    check("once they are unlocked a lock is granted again", r.status == 200, r)
    c.request("UNLOCK", "/config/network", {"Lock-Token": f"<{token_of(r)}>"})


def dav_href_text(markup):
    """The text of markup that is one DAV:href element standing alone, else None."""
    try:
        element = ET.fromstring(markup)
    except ET.ParseError:
        return None
    return element.text if element.tag == "{DAV:}href" else None


def owner_is_dav_href(lockdiscovery, text):
    """Whether the owner in a lockdiscovery body is a DAV:href holding `text`: as markup
    inside DAV:owner, or as the characters of such markup (a core that keeps the owner as
    text escapes it), declarations included either way."""
    try:
        owner = ET.fromstring(lockdiscovery).find("{DAV:}lockdiscovery/{DAV:}activelock/{DAV:}owner")
    except ET.ParseError:
        return False
    if owner is None:
        return False
    child = owner.find("{DAV:}href")
    if child is not None:
        return child.text == text
    return dav_href_text(owner.text or "") == text


def still_serving(c, after):
    try:
        r = c.request("GET", "/config/display")
        ok = r.status == 200 and (r.json() or {}).get("theme") in {"dark", "light"}
    except (OSError, ConnectionError) as e:
        ok, r = False, e
    check(f"the firmware still serves after {after}", ok, r)


def malformed(c):
    display = c.request("GET", "/config/display").json()
    check("the display section reads back before the malformed requests", isinstance(display, dict), display)
    r = c.raw(b"\x00\xff\x13\x07 garbage \x80\x81\r\n\r\n", expect_close=True)
    check("garbage bytes are answered 400 and the connection closed", r.status == 400 and r.closed, r)
    still_serving(c, "garbage bytes")

    big = b"GET /config HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4096 + b"\r\n\r\n"
    r = c.raw(big, expect_close=True)
    check("a 4 KiB header is answered 431 and the connection closed", r.status == 431 and r.closed, r)
    still_serving(c, "a 4 KiB header")

    r = c.request("PUT", "/config/display", {"If": "(<urn:uuid:unterminated"}, '{"brightness":1}')
    body = r.json() or {}
    check("a malformed If header is answered 400 naming the header",
          r.status == 400 and body.get("header") == "If" and body.get("type", "").endswith("/malformed-header"), r)
    r = c.request("GET", "/config/display")
    check("the request with the malformed If was not performed", r.status == 200 and r.json() == display, r)

    for what, doc in [
        ("not XML", "this is not xml"),
        ("a DTD with an entity", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "eeeeeeee">]>'
         '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>&e;</D:owner></D:lockinfo>'),
        ("no lockscope", '<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>'),
        ("an owner too long for the table", lockinfo("o" * 200)),
    ]:
        r = c.request("LOCK", "/config/display", {"Content-Type": "application/xml"}, doc)
        check(f"a lockinfo body with {what} is answered 400", r.status == 400 and "lockinfo" in r.body, r)
    r = c.request("LOCK", "/config/display", {"Timeout": "Second-x", "Content-Type": "application/xml"}, lockinfo("t"))
    check("a malformed Timeout is answered 400", r.status == 400 and "Timeout" in r.body, r)

    for what, doc in [
        ("not JSON", "{nope"),
        ("an unknown member", '{"brightness":10,"timeoutSeconds":30,"orientation":"landscape","theme":"dark","x":1}'),
        ("a value out of range", '{"brightness":101,"timeoutSeconds":30,"orientation":"landscape","theme":"dark"}'),
    ]:
        r = c.request("PUT", "/config/display", {"Content-Type": "application/json"}, doc)
        check(f"a PUT with {what} is answered 400", r.status == 400 and r.header("content-type") == "application/problem+json", r)
    r = c.request("GET", "/config/display")
    check("the refused PUTs changed nothing", r.status == 200 and r.json() == display, r)

    r = c.raw(b"PUT /config/display HTTP/1.1\r\nContent-Length: 4096\r\n\r\n", expect_close=True)
    check("a body over 512 bytes is answered 413 (problem+json for a PUT) and the connection closed",
          r.status == 413 and r.closed and r.header("content-type") == "application/problem+json", r)
    r = c.raw(b"PUT /config/display HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}", expect_close=True)
    check("two Content-Length headers that disagree are answered 400 and the connection closed",
          r.status == 400 and r.closed, r)
    r = c.raw(b"PUT /config/display HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", expect_close=True)
    check("a chunked body is answered 501", r.status == 501 and r.closed, r)
    r = c.request("GET", "/config/time")
    check("an unknown section is 404", r.status == 404, r)
    r = c.request("GET", "/config//network")
    check("an alias of a section path is 404, not served past its lock", r.status == 404, r)
    r = c.request("DELETE", "/config/network")
    check("DELETE is 405 with Allow", r.status == 405 and "LOCK" in (r.header("allow") or ""), r)

    # A client that drops the connection in the middle of a request.
    with c.connect() as sock:
        sock.sendall(b'PUT /config/display HTTP/1.1\r\nContent-Length: 80\r\n\r\n{"brightness":5,')
        time.sleep(0.3)
    r = c.request("GET", "/config/display")
    check("a request cut off by its client's disconnect is dropped, the firmware serves the next one",
          r.status == 200 and r.json() == display, r)

    # A client that stops sending in the middle of its head.
    with c.connect() as sock:
        sock.sendall(b"GET /config/display HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        sock.settimeout(30)
        try:
            r = read_response(sock)
            waited = time.monotonic() - start
            # This client stays silent: the firmware closes all the same.
            r.closed = closed_by_peer(sock)
        except (OSError, ConnectionError) as e:
            r, waited = e, None
    # The firmware counts its 5 s in SysTick ticks, which QEMU drops on a loaded host.
    check("a request that stops arriving is answered 408 (problem+json) after the idle limit and closed",
          isinstance(r, Response) and r.status == 408 and r.closed and 4.0 <= waited <= 30.0
          and r.header("content-type") == "application/problem+json", (r, waited))
    still_serving(c, "a stalled request")

    # A client that keeps sending, a byte at a time, a head that never ends.
    import threading
    with c.connect() as sock:
        sock.sendall(b"GET /config/display HTTP/1.1\r\nX-Slow: ")
        start = time.monotonic()
        stop = threading.Event()

        def trickle():
            while not stop.is_set():
                try:
                    sock.sendall(b"a")
                except OSError:
                    return
                time.sleep(0.5)

        sender = threading.Thread(target=trickle)
        sender.start()
        sock.settimeout(30)
        try:
            r = read_response(sock)
            waited = time.monotonic() - start
        except (OSError, ConnectionError) as e:
            r, waited = e, None
        stop.set()
        sender.join()
    check("a head trickling in a byte every 0.5 s is answered 408 once the limit has passed since its first byte",
          isinstance(r, Response) and r.status == 408 and 4.0 <= waited <= 30.0, (r, waited))
    still_serving(c, "a trickling request")

    # Idle connections on every socket: the firmware frees them after its idle limit.
    idle = [c.connect() for _ in range(4)]
    start = time.monotonic()
    closed_after = []
    for sock in idle:
        closed = closed_by_peer(sock, max(0.1, start + 30 - time.monotonic()))
        closed_after.append(round(time.monotonic() - start, 1) if closed else None)
        sock.close()
    try:
        r = c.request("GET", "/config/wifi")
    except (OSError, ConnectionError) as e:
        r = e
    check("idle connections holding every socket are closed after the idle limit, then clients are served",
          None not in closed_after and isinstance(r, Response) and r.status == 200, (closed_after, r))

    # A client that waits for 100 Continue before its body (RFC 9110 §10.1.1).
    doc = json.dumps(display).encode()
    with c.connect() as sock:
        sock.sendall(b"PUT /config/display HTTP/1.1\r\nExpect: 100-continue\r\n"
                     + f"Content-Length: {len(doc)}\r\n\r\n".encode())
        sock.settimeout(5)
        interim = b""
        try:
            while b"\r\n\r\n" not in interim:
                chunk = sock.recv(64)
                if not chunk:
                    break
                interim += chunk
            sock.settimeout(IO_TIMEOUT)
            sock.sendall(doc)
            r = read_response(sock)
        except (OSError, ConnectionError) as e:
            r = e
    check("Expect: 100-continue gets 100 Continue before the body, then the answer",
          interim == b"HTTP/1.1 100 Continue\r\n\r\n" and isinstance(r, Response) and r.status == 204,
          (interim, r))
    r = c.raw(b"PUT /config/display HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}", expect_close=True)
    check("any other expectation is answered 417", r.status == 417, r)

    # Two requests in one packet on one connection: both answered, in order.
    with c.connect() as sock:
        sock.sendall(b"GET /config/wifi HTTP/1.1\r\n\r\nGET /config/display HTTP/1.1\r\n\r\n")
        first, second = read_response(sock), read_response(sock)
    check("pipelined requests on one connection are answered in order",
          "ssid" in first.body and "theme" in second.body, (first, second))


def parallel(c):
    """Four clients at once, each on its own keep-alive connection (one per socket),
    reading and writing: every answer complete and right, the last write of each section
    stored."""
    import threading

    sections = ["network", "wifi", "display", "wifi"]
    docs = {
        "network": lambda i, k: dict(NETWORK, hostname=f"c{i}-{k}"),
        "wifi": lambda i, k: {"enabled": True, "ssid": f"c{i}-{k}", "security": "wpa2-psk", "channel": 6, "countryCode": "DE"},
        "display": lambda i, k: {"brightness": k % 101, "timeoutSeconds": 30, "orientation": "landscape", "theme": "dark"},
    }
    rounds = 40
    errors = []
    last = {}

    def connect():
        # A socket may still be finishing an earlier client's connection (a client would
        # retry such a refusal).
        for attempt in range(10):
            try:
                sock = c.connect()
                sock.sendall(b"GET /config/network HTTP/1.1\r\n\r\n")
                if read_response(sock).status == 200:
                    return sock
            except (OSError, ConnectionError):
                time.sleep(0.5)
        raise ConnectionError("no connection after 10 attempts")

    def client(i):
        section = sections[i]
        try:
            with connect() as sock:
                for k in range(rounds):
                    doc = json.dumps(docs[section](i, k))
                    sock.sendall(f"PUT /config/{section} HTTP/1.1\r\nContent-Length: {len(doc)}\r\n\r\n{doc}".encode())
                    r = read_response(sock)
                    if r.status != 204:
                        errors.append((i, k, r))
                        return
                    last[(i, section)] = doc
                    sock.sendall(f"GET /config/{section} HTTP/1.1\r\n\r\n".encode())
                    r = read_response(sock)
                    if r.status != 200 or r.json() is None:
                        errors.append((i, k, r))
                        return
        except (OSError, ConnectionError) as e:
            errors.append((i, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sections))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(f"four clients at once, {rounds} PUTs and GETs each, all answered 204 and 200", not errors, errors[:3])
    for section in ("network", "display"):
        r = c.request("GET", f"/config/{section}")
        written = [json.loads(doc) for (i, s), doc in last.items() if s == section]
        check(f"/config/{section} holds its client's last write", r.json() in written, (r, written))
    r = c.request("GET", "/config/wifi")
    written = [json.loads(doc) for (i, s), doc in last.items() if s == "wifi"]
    check("/config/wifi holds the last write of one of its two clients", r.json() in written, (r, written))


def rate(c):
    """Requests per second over QEMU's user network, for orientation only."""
    n = 200
    with c.connect() as sock:
        start = time.monotonic()
        for _ in range(n):
            sock.sendall(b"GET /config/wifi HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(sock)
            if r.status != 200:
                break
        keep_alive = n / (time.monotonic() - start)
    check(f"{n} GETs on one connection all answered", r.status == 200, r)
    m = 100
    start = time.monotonic()
    for _ in range(m):
        r = c.request("GET", "/config/wifi")
    fresh = m / (time.monotonic() - start)
    check(f"{m} GETs on new connections all answered", r.status == 200, r)
    print(f"rate: {keep_alive:.0f} requests/s on one connection, {fresh:.0f} requests/s with a connection each")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="host port (default: a free one)")
    parser.add_argument("--keep-log", help="file for QEMU's output")
    parser.add_argument("--parts", default="story,webdav,malformed,parallel,rate",
                        help="which exchanges to drive, in order (default: all)")
    parser.add_argument("--features", default="serve",
                        help="firmware features (CI also runs one without the lock layer, which must fail)")
    args = parser.parse_args()
    port = args.port or free_port()
    log_path = args.keep_log or os.devnull
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [os.path.join(HERE, "serve.sh"), str(port), str(BOOT_SECONDS + 240)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, SERVE_FEATURES=args.features),
        )
        c = Client(port)
        try:
            up = wait_until_serving(c, proc)
            check(f"the firmware answers on 127.0.0.1:{port}", up)
            if up:
                parts = {"story": story, "webdav": webdav, "malformed": malformed,
                         "parallel": parallel, "rate": rate}
                for name in args.parts.split(","):
                    part = parts[name]
                    try:
                        part(c)
                    except (OSError, ConnectionError) as e:
                        check(f"{part.__name__}: every exchange completes", False, e)
                still_serving(c, "everything")
            check("QEMU is still running at the end (no panic, no exit)", proc.poll() is None, proc.returncode)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if args.keep_log:
        with open(args.keep_log, encoding="utf-8", errors="replace") as f:
            banner = any(line.startswith("mcu-demo serving http://10.0.2.15:80/config") for line in f)
        check("the firmware printed its serving banner", banner)
    print(f"serve: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
