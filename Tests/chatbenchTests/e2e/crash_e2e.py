"""Crash safety: `chatbench send` killed with SIGKILL at random moments, again and again; then every
database must pass integrity_check, no completed turn may be missing, no half-written turn visible,
and the session must go on. Usage: crash_e2e.py BINARY TURNS [FAKE_SERVER_URL]"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN, TURNS = sys.argv[1], int(sys.argv[2])
URL = sys.argv[3] if len(sys.argv) > 3 else None
rng = random.Random(20261126)
home = tempfile.mkdtemp(prefix="cb-crash-")
env = dict(os.environ, CHATBENCH_HOME=home, OPENAI_API_KEY="sk-crash-test")
base = [BIN, "send", "--session", "s"] + (["--backend", "openai", "--base-url", URL] if URL else ["--backend", "offline"])

completed, killed = [], 0
# Calibrate: how long one turn takes here, so kills spread over the whole run of a process.
durations = []
for n in range(3):
    t0 = time.monotonic()
    subprocess.run(base + [f"Warm-up {n}: my name is Priya."], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    durations.append(time.monotonic() - t0)
    completed.append(f"Warm-up {n}: my name is Priya.")
window = sorted(durations)[1] * 1.2
for n in range(TURNS):
    text = f"Turn {n}: I like the number {n}."
    p = subprocess.Popen(base + [text], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    delay = rng.uniform(0, window)
    try:
        rc = p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        rc = -9
        killed += 1
    if rc == 0:
        completed.append(text)

problems = []
for name in ["workbench.sqlite", "offline-server.sqlite"]:
    path = os.path.join(home, name)
    if os.path.exists(path):
        ok = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            problems.append(f"{name}: {ok}")
db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
users = {r[0]: r[1] for r in db.execute("SELECT content, status FROM messages WHERE role = 'user'")}
for text in completed:
    if users.get(text) != "complete":
        problems.append(f"completed turn missing or not complete: {text!r} -> {users.get(text)}")
# No half-written turn: every turn row has its user message; a completed one has its reply; every message has its turn.
for tid, status, uid, rid in db.execute("SELECT id, status, user_message_id, reply_message_id FROM turns"):
    if uid is None or db.execute("SELECT 1 FROM messages WHERE id = ?", (uid,)).fetchone() is None:
        problems.append(f"turn {tid} without its user message")
    if status == "completed" and (rid is None or db.execute("SELECT status FROM messages WHERE id = ?", (rid,)).fetchone() != ("complete",)):
        problems.append(f"completed turn {tid} without a complete reply")
orphans = db.execute("SELECT count(*) FROM messages WHERE turn_id IS NULL OR turn_id NOT IN (SELECT id FROM turns)").fetchone()[0]
if orphans:
    problems.append(f"{orphans} messages without a turn")
garbled = db.execute("SELECT count(*) FROM messages WHERE role = 'assistant' AND status NOT IN ('complete', 'interrupted')").fetchone()[0]
if garbled:
    problems.append(f"{garbled} replies neither complete nor interrupted")
# The session goes on, and its memory still works.
r = subprocess.run(base + ["What's the number I like?"], env=env, capture_output=True, text=True, timeout=60)
if r.returncode != 0:
    problems.append(f"the next run failed: {r.stderr}")
print(f"window {window * 1000:.0f}ms turns {TURNS} killed {killed} completed {len(completed)} lost {sum(1 for t in completed if users.get(t) != 'complete')}")
for p in problems[:10]:
    print("PROBLEM", p)
sys.exit(1 if problems else 0)
