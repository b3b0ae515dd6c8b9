"""Attacks `chatbench serve` the way issue #15 found it broken. Usage: serve_hostile_e2e.py PORT KEY PID CHECK...
The server runs with --api-key KEY (and --max-connections 40 for connection_cap). Prints "ok NAME" per
check; exits 1 on any failure. Every check ends by proving the server still answers."""
import re
import socket
import sys
import threading
import time

PORT, KEY, PID = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
AUTH = f"Authorization: Bearer {KEY}\r\n".encode()
HOST = f"Host: 127.0.0.1:{PORT}\r\n".encode()


def connect():
    return socket.create_connection(("127.0.0.1", PORT), timeout=5)


def read_all(sock):
    """Everything until the server closes (it must close after a refusal)."""
    out = b""
    while True:
        try:
            b = sock.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    return out


def exchange(raw):
    s = connect()
    s.sendall(raw)
    reply = read_all(s)
    s.close()
    return reply


def status(reply):
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


def alive():
    s = connect()
    s.sendall(b"GET /v1/models HTTP/1.1\r\n" + HOST + AUTH + b"Connection: close\r\n\r\n")
    r = read_all(s)
    assert status(r) == 200, r[:200]


def post(extra_headers, body, auth=True):
    return b"POST /v1/responses HTTP/1.1\r\n" + HOST + (AUTH if auth else b"") + extra_headers + b"\r\n" + body


def traps():
    # Each of these killed the server (a Swift runtime trap), even unauthenticated.
    for auth in (True, False):
        for body in (b"\r\n", b";\r\n", b"1\r\na\r\n7fffffffffffffff\r\n", b"ffffffffffffffffffff\r\n", b"-1\r\n"):
            r = exchange(post(b"Transfer-Encoding: chunked\r\n", body, auth))
            assert status(r) in ((400, 413) if auth else (401,)), (auth, body, r[:200])
            alive()
    # An empty query parameter name ("?=") trapped while splitting the query.
    for query in (b"?=", b"?a&=&=b", b"?%zz=%", b"?limit=99999999999999999999999", b"?limit=-1"):
        r = exchange(b"GET /v1/conversations/conv_x/items" + query + b" HTTP/1.1\r\n" + HOST + AUTH + b"Connection: close\r\n\r\n")
        assert status(r) in (200, 400, 404), (query, r[:200])
        alive()
    r = exchange(b"GET /v1/models HTTP/1.1\r\n" + HOST + AUTH + "Origin: http://127.0.0.½\r\n\r\n".encode())
    assert status(r) == 403, r[:200]
    alive()


def key_before_body():
    # No key: the 401 comes at once, without waiting for the 1 MB body the head announced.
    s = connect()
    s.sendall(b"POST /v1/responses HTTP/1.1\r\n" + HOST + b"Content-Length: 1000000\r\n\r\n")
    r = read_all(s)
    assert status(r) == 401 and b"Connection: close" in r, r[:300]
    alive()


def strict_framing():
    cases = {
        "CL with TE": (post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
        "two Content-Lengths": (post(b"Content-Length: 2\r\nContent-Length: 5\r\n", b"{}"), 400),
        "space before colon": (post(b"Content-Length : 5\r\n", b"GET /v1/models HTTP/1.1\r\n\r\n"), 400),
        "gzip, chunked": (post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
        "no CRLF after chunk data": (post(b"Transfer-Encoding: chunked\r\n", b"2\r\n{}XX0\r\n\r\n"), 400),
        "HTTP/1.9": (b"GET /v1/models HTTP/1.9\r\n" + HOST + AUTH + b"\r\n", 505),
        "no Host": (b"GET /v1/models HTTP/1.1\r\n" + AUTH + b"\r\n", 400),
        "bare LF": (b"GET /v1/models HTTP/1.1\n" + HOST + AUTH + b"\r\n", 400),
        "obs-fold": (b"GET /v1/models HTTP/1.1\r\n" + HOST + AUTH + b"X-A: 1\r\n  folded\r\n\r\n", 400),
        "control byte in a value": (b"GET /v1/models HTTP/1.1\r\n" + HOST + AUTH + b"X-A: a\x01b\r\n\r\n", 400),
    }
    for name, (raw, want) in cases.items():
        r = exchange(raw)
        # A framing error closes the connection: read_all returned, so the server closed it, and said so.
        assert status(r) == want and b"Connection: close" in r, (name, r[:300])
        assert len(re.findall(rb"HTTP/1\.1 \d{3} ", r)) == 1, (name, "a second request was smuggled", r)
    # A chunk-size line without an end is refused once it is too long, not buffered forever.
    r = exchange(post(b"Transfer-Encoding: chunked\r\n", b"1" * 200000))
    assert status(r) == 400, r[:200]
    alive()


def head_and_allow():
    s = connect()
    f = s.makefile("rb")
    s.sendall(b"HEAD /v1/models HTTP/1.1\r\n" + HOST + AUTH + b"\r\n")
    line = f.readline()
    assert line.startswith(b"HTTP/1.1 200"), line
    headers = {}
    while True:
        h = f.readline().strip()
        if not h:
            break
        k, v = h.split(b":", 1)
        headers[k.lower()] = v.strip()
    assert int(headers[b"content-length"]) > 0
    # No body followed: the next bytes are the reply to the next request.
    s.sendall(b"PUT /v1/responses HTTP/1.1\r\n" + HOST + AUTH + b"Content-Length: 0\r\n\r\n")
    line = f.readline()
    assert line.startswith(b"HTTP/1.1 405"), line
    allow = None
    while True:
        h = f.readline().strip()
        if not h:
            break
        if h.lower().startswith(b"allow:"):
            allow = h.split(b":", 1)[1].strip()
    assert allow == b"POST", allow
    s.close()


def host_and_origin():
    r = exchange(b"GET /v1/models HTTP/1.1\r\nHost: attacker.example:8088\r\n" + AUTH + b"\r\n")
    assert status(r) == 403 and b"loopback" in r, r[:300]
    r = exchange(b"POST /v1/responses HTTP/1.1\r\n" + HOST + AUTH + b"Origin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}")
    assert status(r) == 403 and b"Cross-site" in r, r[:300]
    r = exchange(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"Origin: http://localhost:3000\r\nConnection: close\r\n\r\n")
    assert status(r) == 200, r[:300]


def log_injection():
    r = exchange(b"GET /v1/%0aFORGED%201%1b]0;owned%07%1b[2J HTTP/1.1\r\n" + HOST + AUTH + b"Connection: close\r\n\r\n")
    assert status(r) == 404, r[:200]


def connection_cap():
    # The server was started with --max-connections 40: the 41st connection gets 503, the others still work.
    held = [connect() for _ in range(40)]
    time.sleep(0.3)
    s = connect()
    r = read_all(s)
    assert status(r) == 503, r[:200]
    for h in held:
        h.close()
    time.sleep(0.3)
    alive()


def stalled_readers():
    # Three clients pipeline streamed creates and never read: their replies fill the socket buffers and
    # the writes block. Other clients must still be answered (before, two such clients froze everything).
    body = b'{"model":"m","input":"Tell me everything you know about me and what I should pack.","stream":true,"store":false}'
    one = post(b"Content-Length: %d\r\n" % len(body), body)
    stalled = []
    for _ in range(3):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", PORT))
        stalled.append(s)
        # Keeps sending while the server reads; blocks (in its own thread) once the server is stuck writing.
        threading.Thread(target=lambda s=s: ignore_errors(lambda: s.sendall(one * 5000)), daemon=True).start()
    time.sleep(3)
    c = connect()  # 5 s timeout on every read: a frozen server fails here
    for i in range(5):
        c.sendall(b"POST /v1/responses HTTP/1.1\r\n" + HOST + AUTH + b"Content-Length: 35\r\n\r\n" + b'{"model":"m","input":"I am %02d."}   ' % i)
        reply = c.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    for s in stalled:
        s.close()
    alive()


def ignore_errors(f):
    try:
        f()
    except OSError:
        pass


def slow_head():
    # A head sent one line at a time never finishes: the server answers 408 when its 10 s are up.
    s = connect()
    s.settimeout(1)
    s.sendall(b"GET /v1/models HTTP/1.1\r\n" + HOST)
    started, reply = time.monotonic(), b""
    while time.monotonic() - started < 25 and not reply:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            reply = s.recv(200)
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            break
    assert reply.startswith(b"HTTP/1.1 408"), reply
    alive()


def cpu_ticks():
    fields = open(f"/proc/{PID}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def out_of_descriptors():
    # The server runs under `ulimit -n 40`: past that, clients get 503 and the event loop must not spin.
    held = [connect() for _ in range(60)]
    time.sleep(0.5)
    answers = []
    for s in held:
        s.settimeout(0.2)
        try:
            answers.append(s.recv(100)[:12])
        except socket.timeout:
            answers.append(b"")
    assert answers.count(b"HTTP/1.1 503") >= 10, answers
    before = cpu_ticks()
    time.sleep(1)
    spent = cpu_ticks() - before
    assert spent < 50, f"{spent} clock ticks of CPU in one idle second: the loop spins"  # a spinning core is ~100
    for s in held:
        s.close()
    time.sleep(0.5)
    alive()


if __name__ == "__main__":
    failures = 0
    for name in sys.argv[4:]:
        try:
            globals()[name]()
            print(f"ok {name}")
        except Exception as e:
            failures += 1
            print(f"FAIL {name}: {e!r}")
    sys.exit(1 if failures else 0)
