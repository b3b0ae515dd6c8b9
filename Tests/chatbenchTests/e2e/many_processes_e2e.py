"""Many chatbench processes on one data folder: nothing lost, nothing corrupted.

Usage: many_processes_e2e.py BINARY SCENARIO [COUNT]
  parallel  COUNT  two `send` loops per session on one chain session and one conversation session, at once
  serve     COUNT  `serve` answering chained HTTP clients while a `send` loop uses the same offline-server.sqlite
  screen           the screen (tmux) open on a session while `send` writes to it and to another session,
                   an outside process opens and closes the file, then the screen is killed with -9
Prints "ok SCENARIO ..." and exits 0 when every check passes; exits 1 with the reason otherwise.

After each scenario: integrity_check is ok on every file; every `send` that exited 0 is stored exactly once;
turn numbers are unique; each chain is linear (every turn chains from the one before it)."""
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
SCENARIO = sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 10


def env_for(home):
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    env.update(CHATBENCH_HOME=home, XDG_CONFIG_HOME=home + "/config", LANG="C.UTF-8")
    return env


def send(home, session, text, *extra):
    r = subprocess.run([BIN, "send", "--json", "--session", session, *extra, text], env=env_for(home),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr)


def check_integrity(path):
    db = sqlite3.connect(path)
    result = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    assert result == "ok", f"{path}: integrity_check says {result}"


def check_session(home, session, replies, mode="chain"):
    """Every reply (a send that exited 0) stored exactly once; numbers 1..n; the chain linear."""
    db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
    sid = db.execute("SELECT id FROM sessions WHERE name = ?", (session,)).fetchone()[0]
    turns = db.execute("SELECT number, response_id, previous_response_id, conversation_id, status FROM turns "
                       "WHERE session_id = ? ORDER BY number", (sid,)).fetchall()
    numbers = [t[0] for t in turns]
    assert numbers == list(range(1, len(turns) + 1)), f"{session}: turn numbers {numbers}"
    stored = [t[1] for t in turns]
    for r in replies:
        assert stored.count(r["response_id"]) == 1, f"{session}: reply {r['response_id']} stored {stored.count(r['response_id'])} times"
    assert len(turns) == len(replies), f"{session}: {len(turns)} turns for {len(replies)} successful sends"
    msgs = db.execute("SELECT count(*) FROM messages WHERE session_id = ?", (sid,)).fetchone()[0]
    assert msgs == 2 * len(turns), f"{session}: {msgs} messages for {len(turns)} turns"
    if mode == "chain":
        for before, after in zip(turns, turns[1:]):
            assert after[2] == before[1], f"{session}: turn {after[0]} chains from {after[2]}, not from turn {before[0]}'s {before[1]}"
    elif mode == "conversation":
        assert len({t[3] for t in turns}) == 1, f"{session}: turns in several conversations: {set(t[3] for t in turns)}"
    else:  # layered: every turn's requests kept with their sources; one rolling summary, always moving on
        for number, _, _, _, _ in turns:
            kinds = [k for (k,) in db.execute("SELECT r.kind FROM turn_requests r JOIN turns t ON t.id = r.turn_id "
                                              "WHERE t.session_id = ? AND t.number = ? ORDER BY r.seq", (sid, number))]
            assert "reply" in kinds and kinds[-1] == "updater", f"{session}: turn {number} kept requests {kinds}"
        through = [t for (t,) in db.execute("SELECT through_message FROM memory_summaries WHERE session_id = ? ORDER BY id", (sid,))]
        assert through and through == sorted(set(through)), f"{session}: summaries through {through}"
    db.close()
    return len(turns)


def run_loops(home, session, loops, count, extra=()):
    replies, failures = [], []
    lock = threading.Lock()

    def loop(k):
        for i in range(count):
            code, out = send(home, session, f"Loop {k} message {i}: I have {i} cats.", *extra)
            with lock:
                (replies if code == 0 else failures).append(out)

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(loops)]
    return threads, replies, failures


def parallel():
    home = tempfile.mkdtemp(prefix="cb-many-")
    # Both sessions start empty, so the loops also race to create them.
    t1, chain_replies, f1 = run_loops(home, "shared", 2, COUNT, ("--mode", "chain"))
    t2, conv_replies, f2 = run_loops(home, "talk", 2, COUNT, ("--mode", "conversation"))
    t3, layered_replies, f3 = run_loops(home, "layers", 2, COUNT, ("--mode", "layered", "--policy", "window:4"))
    for t in t1 + t2 + t3:
        t.start()
    for t in t1 + t2 + t3:
        t.join()
    assert not f1 and not f2 and not f3, f"sends failed: {(f1 + f2 + f3)[:3]}"
    check_integrity(os.path.join(home, "workbench.sqlite"))
    check_integrity(os.path.join(home, "offline-server.sqlite"))
    n1 = check_session(home, "shared", chain_replies)
    n2 = check_session(home, "talk", conv_replies, mode="conversation")
    n3 = check_session(home, "layers", layered_replies, mode="layered")
    # The server side agrees: the conversation holds every turn's input and output once.
    conv = conv_replies[0]["conversation_id"]
    server = sqlite3.connect(os.path.join(home, "offline-server.sqlite"))
    items = server.execute("SELECT count(*) FROM conversation_items WHERE conversation_id = ?", (conv,)).fetchone()[0]
    assert items == 2 * n2, f"conversation holds {items} items for {n2} turns"
    # And the server chain is as deep as the session: no turn lost from the model's memory.
    last = max(chain_replies, key=lambda r: r["turn"])["response_id"]
    depth = server.execute("SELECT depth FROM responses WHERE id = ?", (last,)).fetchone()[0]
    assert depth == n1, f"the chain's head is at depth {depth} after {n1} turns"
    print(f"ok parallel {n1} chain turns, {n2} conversation turns and {n3} layered turns from 6 processes")


def start_serve(home):
    p = subprocess.Popen([BIN, "serve", "--port", "0", "--quiet"], env=env_for(home), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    port = int(line.rsplit(":", 1)[1].split("/")[0])
    return p, port


def serve():
    home = tempfile.mkdtemp(prefix="cb-many-serve-")
    proc, port = start_serve(home)
    chains, errors = {}, []

    def client(k):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            prev, ids = None, []
            for i in range(COUNT):
                body = {"model": "m", "input": f"Client {k}: my number is {i}."}
                if prev:
                    body["previous_response_id"] = prev
                c.request("POST", "/v1/responses", body=json.dumps(body), headers={"Content-Type": "application/json"})
                r = c.getresponse()
                data = json.loads(r.read())
                assert r.status == 200, data
                assert data.get("previous_response_id") == prev, data
                prev = data["id"]
                ids.append(prev)
            chains[k] = ids
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {k}: {e!r}")

    try:
        loops, replies, failures = run_loops(home, "beside-serve", 2, COUNT)
        clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in clients + loops:
            t.start()
        for t in clients + loops:
            t.join()
        assert not errors and not failures, f"{errors[:3]} {failures[:3]}"
        # serve is still healthy after all of it.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", f"/v1/responses/{chains[0][-1]}")
        assert c.getresponse().status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    check_integrity(os.path.join(home, "workbench.sqlite"))
    check_integrity(os.path.join(home, "offline-server.sqlite"))
    n = check_session(home, "beside-serve", replies)
    server = sqlite3.connect(os.path.join(home, "offline-server.sqlite"))
    for k, ids in chains.items():
        depths = [server.execute("SELECT depth FROM responses WHERE id = ?", (i,)).fetchone()[0] for i in ids]
        assert depths == list(range(1, COUNT + 1)), f"client {k}: depths {depths}"
    head = max(replies, key=lambda r: r["turn"])["response_id"]
    assert server.execute("SELECT depth FROM responses WHERE id = ?", (head,)).fetchone()[0] == n
    print(f"ok serve {len(chains)} HTTP chains of {COUNT} and {n} send turns on one offline-server.sqlite")


def screen():
    sys.path.insert(0, os.path.dirname(__file__))
    from tmux_driver import Tmux  # noqa: E402

    home = tempfile.mkdtemp(prefix="cb-many-screen-")
    pidfile = os.path.join(home, "screen.pid")
    env = f"LANG=C.UTF-8 CHATBENCH_HOME={home} XDG_CONFIG_HOME={home}/config CHATBENCH_STREAM_DELAY_MS=5"
    t = Tmux(f"bash --norc -c 'echo $$ > {pidfile}; exec env {env} {BIN} --session S'", 120, 40)
    try:
        t.wait_for("SERVER CHAIN")
        t.type("My name is Carl.")
        t.keys("Enter")
        t.wait_for("Nice to meet you, Carl!")
        # A turn from the shell appears on the open screen without a restart.
        code, r1 = send(home, "S", "I live in Oslo.")
        assert code == 0, r1
        t.wait_for("I live in Oslo.")
        code, other = send(home, "elsewhere", "I have a dog named Rex.")
        assert code == 0, other
        # The screen's next turn chains from the shell's: the model knows both.
        t.type("Where do I live and what's my name?")
        t.keys("Enter")
        s = t.wait_for("You live in Oslo.")
        assert "Carl" in s, s
        code, r2 = send(home, "S", "I have a cat named Miso.")
        assert code == 0, r2
        t.wait_for("I have a cat named Miso.")
        # An outside process opens and closes the file: the screen's WAL must stay where it is.
        outside = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        outside.execute("SELECT count(*) FROM sqlite_master").fetchall()
        outside.close()
        assert os.path.exists(os.path.join(home, "workbench.sqlite-wal")), "an outside open/close removed the live WAL"
        t.type("What's my cat's name?")
        t.keys("Enter")
        t.wait_for("Your cat is named Miso.")
        t.wait_for("t5 in ")
        # kill -9: everything the screen recorded must be on disk.
        os.kill(int(open(pidfile).read()), signal.SIGKILL)
        time.sleep(0.2)
    finally:
        t.close()
    check_integrity(os.path.join(home, "workbench.sqlite"))
    db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
    sid = db.execute("SELECT id FROM sessions WHERE name = 'S'").fetchone()[0]
    turns = db.execute("SELECT number, response_id, previous_response_id FROM turns WHERE session_id = ? ORDER BY number",
                       (sid,)).fetchall()
    assert [t[0] for t in turns] == [1, 2, 3, 4, 5], turns
    for before, after in zip(turns, turns[1:]):
        assert after[2] == before[1], f"turn {after[0]} does not chain from turn {before[0]}: {turns}"
    assert turns[1][1] == r1["response_id"] and turns[3][1] == r2["response_id"], turns
    other_turns = db.execute("SELECT count(*) FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.name = 'elsewhere'").fetchone()[0]
    assert other_turns == 1
    print("ok screen 3 screen turns and 2 send turns on one session, linear, after an outside open and kill -9")


{"parallel": parallel, "serve": serve, "screen": screen}[SCENARIO]()
