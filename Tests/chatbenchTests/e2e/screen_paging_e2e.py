"""End-to-end: the screen at rest, paging through a long session, and an Agents SDK session's history.
Usage: screen_paging_e2e.py BINARY  (prints "ok NAME" per flow; exit 0 when every check passes)."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from tmux_driver import Tmux  # noqa: E402

BIN = os.path.abspath(sys.argv[1])


def env(home, **extra):
    pairs = {"LANG": "C.UTF-8", "CHATBENCH_HOME": home, "XDG_CONFIG_HOME": home + "/config", **extra}
    return " ".join(f"{k}={v}" for k, v in pairs.items())


def idle_screen_does_not_wake():
    home = tempfile.mkdtemp(prefix="cb-idle-")
    stats = os.path.join(home, "stats")
    t = Tmux(f"env {env(home, CHATBENCH_LOOP_STATS=stats)} {BIN} --session s", 100, 30)
    try:
        t.wait_for("no turns yet")
        time.sleep(2.0)  # the point: two seconds with nothing happening
        t.keys("C-q")
        end = time.monotonic() + 10
        while not os.path.exists(stats) and time.monotonic() < end:
            time.sleep(0.05)
        iterations, frames = (int(x) for x in open(stats).read().split()[1::2])
        # The first frame, maybe a resize from tmux, and Ctrl-Q: nothing while idle.
        assert iterations <= 6, f"the loop ran {iterations} times in two idle seconds ({frames} frames)"
    finally:
        t.close()
    print(f"ok idle_screen_does_not_wake ({iterations} loop iterations)")


def long_session_pages():
    home = tempfile.mkdtemp(prefix="cb-pages-")
    subprocess.run([BIN, "send", "--session", "big", "Message start"], env={**os.environ, "CHATBENCH_HOME": home}, check=True,
                   capture_output=True)
    db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
    sid = db.execute("SELECT id FROM sessions WHERE name = 'big'").fetchone()[0]
    with db:
        for i in range(1, 1200):
            db.execute("INSERT INTO messages(session_id, role, content, item, status, created_at) VALUES (?, ?, ?, '{}', 'complete', 0)",
                       (sid, "user" if i % 2 else "assistant", f"Message {i:04d}"))
    db.close()
    t = Tmux(f"env {env(home)} {BIN} --session big", 100, 30)
    try:
        t.wait_for("Message 1199")
        t.keys("Home")
        # The whole frame shows the start (a capture can catch a frame half drawn: wait for all of it).
        t.wait_for(lambda s: "Message start" in s and "Message 1199" not in s)
        for _ in range(40):
            t.keys("PageDown")
        s = t.wait_for(lambda s: "Message 04" in s or "Message 05" in s)
        t.keys("End")
        t.wait_for("Message 1199")
        for _ in range(30):
            t.keys("PageUp")
        # Thirty pages of about eleven messages above the newest: well into the older pages.
        s = t.wait_for(lambda s: "Message 08" in s or "Message 09" in s)
        assert "scrolled" in s, s
    finally:
        t.close()
    print("ok long_session_pages")


def sdk_session_history_shows_and_updates():
    home = tempfile.mkdtemp(prefix="cb-sdk-")
    file = os.path.join(home, "agent.db")
    db = sqlite3.connect(file)
    db.executescript("""
        CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
        CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, message_data TEXT NOT NULL,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            FOREIGN KEY (session_id) REFERENCES agent_sessions (session_id) ON DELETE CASCADE);
        CREATE INDEX idx_agent_messages_session_id ON agent_messages (session_id, id);
        INSERT INTO agent_sessions(session_id) VALUES ('user-1');
        """)
    rows = [{"role": "user", "content": "My name is Priya and I'm moving to Lisbon."},
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Nice to meet you, Priya.", "annotations": []}]}]
    with db:
        for r in rows:
            db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('user-1', ?)", (json.dumps(r),))
    t = Tmux(f"env {env(home)} {BIN} --session user-1 --session-db {file}", 100, 30)
    try:
        t.wait_for("My name is Priya and I'm moving to Lisbon.")
        t.wait_for("Nice to meet you, Priya.")
        # An agent appends to the file: the open screen shows it.
        with db:
            db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('user-1', ?)",
                       (json.dumps({"role": "user", "content": "I have a cat named Miso."}),))
        t.wait_for("I have a cat named Miso.")
        t.type("Where am I moving and what's my cat's name?")
        t.keys("Enter")
        s = t.wait_for("Your cat is named Miso.")
        assert "Lisbon" in s, s
    finally:
        t.close()
    print("ok sdk_session_history_shows_and_updates")


def a_session_opened_later_is_watched_too():
    """The screen starts on a plain session; an Agents SDK session opened later from F4 shows what an agent
    appends to its file."""
    home = tempfile.mkdtemp(prefix="cb-sdk-later-")
    file = os.path.join(home, "agent.db")
    e = {**os.environ, "CHATBENCH_HOME": home}
    subprocess.run([BIN, "send", "--session", "agent", "--session-db", file, "My name is Priya."], env=e, check=True, capture_output=True)
    subprocess.run([BIN, "send", "--session", "plain", "hello"], env=e, check=True, capture_output=True)
    t = Tmux(f"env {env(home)} {BIN} --session plain", 100, 30)
    try:
        t.wait_for('"plain"')
        t.keys("F4")
        t.wait_for("SESSIONS")
        t.type("/agent")
        t.keys("Enter")
        t.wait_for("agent ")
        t.keys("Enter")
        t.wait_for('"agent"')
        time.sleep(0.5)  # the point: an append well after the session opened, not caught by its own refresh
        db = sqlite3.connect(file)
        with db:
            db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('agent', ?)",
                       (json.dumps({"role": "user", "content": "I have a dog named Rex."}),))
        t.wait_for("I have a dog named Rex.")
    finally:
        t.close()
    print("ok a_session_opened_later_is_watched_too")


if __name__ == "__main__":
    idle_screen_does_not_wake()
    long_session_pages()
    sdk_session_history_shows_and_updates()
    a_session_opened_later_is_watched_too()
