"""Two `chatbench serve --state redis://…` processes on one private Redis share the server's state.

Usage: serve_redis_e2e.py BINARY REDIS_SERVER SCENARIO [CLIENTS TURNS]
  share  CLIENTS clients chain TURNS turns each, alternating between the two servers: every chain is
         linear (each turn's previous_response_id is the response before it), nothing is lost, every
         client is remembered across servers; concurrent writers on one conversation lose nothing;
         deletion and store:false on one server hold on the other; then one server is killed with -9
         mid-load and the other keeps serving every chain.
  down   Redis is killed mid-session: serve answers 503 state_unavailable promptly (no crash, no hang),
         and serves the same chain again once Redis is back.
Each scenario starts its own redis-server (REDIS_SERVER is its binary) on a free port in a temp folder.
Prints "ok SCENARIO ..." and exits 0 when every check passes; exits 1 with the reason otherwise."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
REDIS = sys.argv[2]
SCENARIO = sys.argv[3]
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 20
TURNS = int(sys.argv[5]) if len(sys.argv) > 5 else 20
NAMES = ["Ana", "Bruno", "Carla", "Diogo", "Elena", "Fabio", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Luis",
         "Marta", "Nuno", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tania"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    def __init__(self, persistent=False):
        self.dir = tempfile.mkdtemp(prefix="chatbench-redis-e2e-")
        self.port = free_port()
        self.persistent = persistent
        self.proc = None
        self.start()

    def start(self):
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "", "--daemonize", "no",
                "--logfile", self.dir + "/redis.log"]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Serve:
    def __init__(self, home, url):
        env = dict(os.environ)
        env.pop("OPENAI_API_KEY", None)
        env.pop("OPENAI_BASE_URL", None)
        env.update(CHATBENCH_HOME=home, XDG_CONFIG_HOME=home + "/config", LANG="C.UTF-8")
        self.proc = subprocess.Popen([BIN, "serve", "--port", "0", "--no-auth", "--quiet", "--state", url], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = self.proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in self.banner, f"serve did not start: {self.banner!r} {self.proc.stderr.read()}"
        self.port = int(self.banner.split("http://127.0.0.1:")[1].split("/")[0])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def call(port, method, path, body=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, "/v1" + path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        c.close()


def text_of(resp):
    return "".join(part.get("text", "") for item in resp.get("output", []) if item.get("type") == "message"
                   for part in item.get("content", []))


def ask(port, text, prev=None, **extra):
    body = {"model": "gpt-4.1-mini", "input": text, **extra}
    if prev:
        body["previous_response_id"] = prev
    return call(port, "POST", "/responses", body)


def run_clients(n, body):
    errors = []

    def wrap(i):
        try:
            body(i)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not errors, "; ".join(errors[:5])


def check_chain(port, ids, name):
    """Walks the chain back from its last response on `port`: exactly the client's ids, in order."""
    seen = []
    cur = ids[-1]
    while cur:
        st, r = call(port, "GET", f"/responses/{cur}")
        assert st == 200, f"{name}: GET {cur} -> {st} {r}"
        seen.append(cur)
        cur = r.get("previous_response_id")
    seen.reverse()
    assert seen == ids, f"{name}: chain {len(seen)} responses, client saw {len(ids)}; fork or loss"


def share():
    redis = Redis()
    home = tempfile.mkdtemp(prefix="chatbench-home-")
    url = f"redis://127.0.0.1:{redis.port}/0"
    a, b = Serve(home, url), Serve(home, url)
    try:
        assert "state in redis://127.0.0.1:" in a.banner, a.banner
        ports = [a.port, b.port]
        chains = [[] for _ in range(CLIENTS)]

        def chain_client(i):
            name = NAMES[i % len(NAMES)]
            for t in range(TURNS):
                port = ports[(i + t) % 2]
                prev = chains[i][-1] if chains[i] else None
                text = f"My name is {name}." if t == 0 else (f"What's my name?" if t == TURNS - 1 else f"Note {t} from client {i}.")
                st, r = ask(port, text, prev)
                assert st == 200, f"turn {t} on {port}: {st} {r}"
                assert r.get("previous_response_id") == prev, f"turn {t}: previous {r.get('previous_response_id')} != {prev}"
                chains[i].append(r["id"])
                if t == TURNS - 1:
                    assert name in text_of(r), f"turn {t}: the other server forgot the name {name}: {text_of(r)!r}"

        started = time.time()
        run_clients(CLIENTS, chain_client)
        elapsed = time.time() - started
        for i in range(CLIENTS):
            assert len(chains[i]) == TURNS
            check_chain(ports[i % 2], chains[i], f"client {i}")
        total = CLIENTS * TURNS

        # Concurrent writers on one conversation, on both servers: every turn's items kept, once.
        st, conv = call(a.port, "POST", "/conversations", {"items": []})
        assert st == 200, conv
        writers, each = 8, 4

        def conv_client(i):
            for t in range(each):
                st, r = call(ports[(i + t) % 2], "POST", "/responses",
                             {"model": "m", "input": f"writer {i} turn {t}", "conversation": conv["id"]})
                assert st == 200, f"{st} {r}"

        run_clients(writers, conv_client)
        items, after = [], None
        while True:
            q = f"/conversations/{conv['id']}/items?order=asc&limit=100" + (f"&after={after}" if after else "")
            st, page = call(b.port, "GET", q)
            assert st == 200, page
            items += page["data"]
            if not page["has_more"]:
                break
            after = page["last_id"]
        inputs = sorted(x["content"][0]["text"] for x in items if x.get("role") == "user")
        assert inputs == sorted(f"writer {i} turn {t}" for i in range(writers) for t in range(each)), f"conversation lost or doubled items: {len(inputs)}"
        assert len(items) == 2 * writers * each, f"{len(items)} items"
        assert len({x["id"] for x in items}) == len(items), "duplicate item ids"

        # Deletion on one server breaks the chain on the other; store:false is not kept for either.
        ids = chains[0]
        st, _ = call(b.port, "DELETE", f"/responses/{ids[TURNS // 2]}")
        assert st == 200
        st, r = ask(a.port, "still there?", ids[-1])
        assert st == 400 and r["error"]["code"] == "previous_response_not_found", f"{st} {r}"
        st, r = ask(b.port, "still there?", ids[TURNS // 2 - 1])
        assert st == 200, f"the part before the deletion: {st} {r}"
        st, r = ask(a.port, "secret", store=False)
        assert st == 200
        st, _ = call(b.port, "GET", f"/responses/{r['id']}")
        assert st == 404
        st, r2 = ask(b.port, "chain?", r["id"])
        assert st == 400 and r2["error"]["code"] == "previous_response_not_found", f"{st} {r2}"
        # A compaction item sealed by one server opens on the other (one secret in Redis).
        st, c = ask(a.port, [{"role": "user", "content": "My name is Zora."}, {"type": "compaction_trigger"}])
        assert st == 200 and c["output"][0]["type"] == "compaction", c
        st, r = ask(b.port, [c["output"][0], {"role": "user", "content": "What's my name?"}])
        assert st == 200 and "Zora" in text_of(r), f"{st} {r}"

        # One server killed with -9 mid-load: the other serves every chain. A request to the dead one
        # is retried on the live one, chaining from the last response the client actually received.
        more = max(4, TURNS // 2)
        tails = [list(c) for c in chains[1:]]
        killed = threading.Event()
        retried = [0]
        done = [0]
        lock = threading.Lock()

        def after_kill(i):
            name = NAMES[(i + 1) % len(NAMES)]
            for t in range(more):
                prev = tails[i][-1]
                text = "What's my name?" if t == more - 1 else f"After {t}."
                port = ports[(i + t) % 2]
                try:
                    st, r = ask(port, text, prev)
                except (OSError, http.client.HTTPException):
                    assert killed.is_set() and port == a.port, f"server {port} failed while alive"
                    retried[0] += 1
                    st, r = ask(b.port, text, prev)
                assert st == 200, f"{st} {r}"
                assert r.get("previous_response_id") == prev
                tails[i].append(r["id"])
                with lock:
                    done[0] += 1
                if t == more - 1:
                    assert name in text_of(r), f"client {i + 1}: forgot {name} after the kill: {text_of(r)!r}"

        def killer():
            # Mid-load: a quarter of the turns answered, the rest still to come.
            while done[0] < (CLIENTS - 1) * more // 4:
                time.sleep(0.001)
            killed.set()
            a.kill()

        k = threading.Thread(target=killer)
        k.start()
        run_clients(CLIENTS - 1, after_kill)
        k.join()
        assert a.proc.poll() is not None, "server A was not killed"
        assert retried[0] > 0, "the kill came after the load"
        for i, ids in enumerate(tails):
            check_chain(b.port, ids, f"client {i + 1} after the kill")
        print(f"ok share {CLIENTS} clients x {TURNS} turns across 2 servers ({total} responses, {total / elapsed:.0f}/s), "
              f"{writers * each} concurrent conversation turns, kill -9 mid-load ({retried[0]} requests retried on the survivor)")
    finally:
        a.kill()
        b.kill()
        redis.close()
        shutil.rmtree(home, ignore_errors=True)


def down():
    redis = Redis(persistent=True)
    home = tempfile.mkdtemp(prefix="chatbench-home-")
    s = Serve(home, f"redis://127.0.0.1:{redis.port}/0?timeout=2")
    try:
        st, r1 = ask(s.port, "My name is Priya.")
        assert st == 200, r1
        redis.kill()
        for path in ["chain", "new", "get"]:
            started = time.time()
            if path == "chain":
                st, r = ask(s.port, "What's my name?", r1["id"])
            elif path == "new":
                st, r = ask(s.port, "Hello")
            else:
                st, r = call(s.port, "GET", f"/responses/{r1['id']}")
            took = time.time() - started
            assert st == 503, f"{path} with Redis down: {st} {r}"
            # The client hears that the store is unavailable, not where it is (the operator's log says).
            assert r["error"]["code"] == "state_unavailable" and "state store is unavailable" in r["error"]["message"], r
            assert "127.0.0.1" not in r["error"]["message"], r
            assert took < 5, f"{path}: answered after {took:.1f}s"
        assert s.proc.poll() is None, "serve exited when Redis went away"
        redis.start()

        def until_served(what):
            deadline = time.time() + 10
            while True:
                st, r = ask(s.port, "What's my name?", r1["id"])
                if st == 200 or time.time() > deadline:
                    assert st == 200 and "Priya" in text_of(r), f"{what}: {st} {r}"
                    return
                assert st == 503, f"{what}: {st} {r}"
                time.sleep(0.1)

        until_served("after Redis came back")
        # Redis stalled (SIGSTOP: connections are accepted, nothing answers): concurrent requests each
        # get a 503 within about the URL's timeout (2 s), not one timeout per request queued before it.
        redis.proc.send_signal(signal.SIGSTOP)
        results = []

        def one():
            started = time.time()
            st, r = ask(s.port, "Hello")
            results.append((st, time.time() - started, r))

        threads = [threading.Thread(target=one) for _ in range(4)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        took = time.time() - started
        redis.proc.send_signal(signal.SIGCONT)
        assert len(results) == 4 and all(st == 503 for st, _, _ in results), f"stalled Redis: {[(st, r) for st, _, r in results]}"
        assert took < 4, f"4 requests on a stalled Redis took {took:.1f}s"
        until_served("after Redis resumed")
        print(f"ok down: 503 state_unavailable while Redis is down or stalled (4 concurrent requests in {took:.1f}s), "
              "the same chain served once it is back")
    finally:
        s.kill()
        redis.close()
        shutil.rmtree(home, ignore_errors=True)


try:
    {"share": share, "down": down}[SCENARIO]()
except AssertionError as e:
    print(f"FAIL {SCENARIO}: {e}")
    sys.exit(1)
