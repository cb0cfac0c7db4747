#!/usr/bin/env python3
"""A client trickles a PUT body (one byte per second) into a running config-server while
other requests are timed: each is answered while the trickled body is still incomplete.
Usage: config-server --listen 127.0.0.1:8093 --body-timeout 120 & scripts/trickle.py [PORT]"""
import socket, threading, time, http.client, json
import sys
HOST, PORT = "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8093
sent = 0
def trickle():
    global sent
    s = socket.create_connection((HOST, PORT))
    s.sendall(b"PUT /config/network HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        s.sendall(b" "); sent += 1; time.sleep(1)
threading.Thread(target=trickle, daemon=True).start()
time.sleep(0.5)
LI = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>bob</D:owner></D:lockinfo>'
def req(method, path, body=None, headers={}):
    c = http.client.HTTPConnection(HOST, PORT, timeout=30)
    t = time.perf_counter(); c.request(method, path, body=body, headers=headers); r = c.getresponse(); data = r.read()
    return r.status, (time.perf_counter() - t) * 1000, r.getheader("Lock-Token")
rows = []
st, ms, tok = req("LOCK", "/config/wifi", LI); rows.append(("LOCK /config/wifi (other section)", st, ms))
st, ms, _ = req("PUT", "/config/wifi", json.dumps({"ssid": "x"}), {"If": f"({tok})", "Content-Type": "application/json"}); rows.append(("PUT /config/wifi with token", st, ms))
st, ms, _ = req("UNLOCK", "/config/wifi", None, {"Lock-Token": tok}); rows.append(("UNLOCK /config/wifi", st, ms))
st, ms, _ = req("PUT", "/config/display", json.dumps({"b": 1}), {"Content-Type": "application/json"}); rows.append(("PUT /config/display", st, ms))
st, ms, _ = req("GET", "/config/network"); rows.append(("GET /config/network (trickled section)", st, ms))
st, ms, _ = req("LOCK", "/config/network", LI); rows.append(("LOCK /config/network (trickled section)", st, ms))
for r in rows: print(f"{r[0]:42s} {r[1]}  {r[2]:.1f} ms")
print(f"trickled body meanwhile: {sent} of 1000 bytes sent")
