"""End-to-end: the real chatbench binary on the offline backend, driven through tmux.
Usage: screen_e2e.py BINARY  (exit 0 when every check passes)."""
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from tmux_driver import Tmux  # noqa: E402

BIN = os.path.abspath(sys.argv[1])


class SttyCheck:
    """Runs a command in a shell between two `stty -a` captures, then prints MARKER, so a test can
    check the terminal is exactly as it was once chatbench has gone."""

    def __init__(self, home, command, marker="CHATBENCH-EXITED"):
        self.before, self.after = os.path.join(home, "stty-before"), os.path.join(home, "stty-after")
        self.marker = marker
        self.shell = f"bash --norc -c 'stty -a > {self.before}; {command}; stty -a > {self.after}; echo {marker}; sleep 30'"

    def same(self):
        return open(self.before).read() == open(self.after).read()


def short(resp_id):
    return resp_id[:9] + "…"  # "resp_" + 4 hex + ellipsis, as the chain panel shows it


def recall_chain_toggle_cancel_resize_quit():
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    env = f"LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=40"
    stty = SttyCheck(home, f"env {env} {BIN} --session trip")
    t = Tmux(stty.shell, 120, 40)
    try:
        t.wait_for("SERVER CHAIN")
        t.wait_for("no turns yet")
        t.type("My name is Priya and I'm moving to Lisbon. 漢字 😀")
        t.keys("Enter")
        t.wait_for("Nice to meet you, Priya!")
        t.type("Where am I moving?")
        t.keys("Enter")
        s = t.wait_for("You're moving to Lisbon.")
        t.wait_for("t2 in ")
        # The chain panel shows the ids the store recorded, chained in order.
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        rows = db.execute("SELECT response_id, previous_response_id FROM turns ORDER BY id").fetchall()
        assert len(rows) == 2 and rows[1][1] == rows[0][0], rows
        s = t.screen()
        for rid, _ in rows:
            assert short(rid) in s, f"{short(rid)} not on screen:\n{s}"
        assert f"from {short(rows[0][0])}" in s
        assert "server     4 items · 2 turns" in s, s
        # Tab: conversation mode; the memory panel shows the new mode's memory.
        t.keys("Tab")
        t.wait_for("SERVER CONVERSATION")
        t.type("What's my name?")
        t.keys("Enter")
        t.wait_for("Your name is Priya.")
        s = t.wait_for("conv       conv_")
        assert "switched to conversation" in s, s
        t.keys("Tab")
        s = t.wait_for("CLIENT")
        t.wait_for("server     nothing kept")
        # Cancel a stream: the partial reply stays, marked interrupted.
        t.keys("Tab")  # hybrid
        t.wait_for("HYBRID")
        t.keys("Tab")  # layered
        t.wait_for("LAYERED")
        t.keys("Tab")  # back to chain
        t.wait_for("SERVER CHAIN")
        t.type("What do you know about me and what should I pack for the move?")
        t.keys("Enter")
        t.wait_for("streaming…")
        t.wait_for("Here's what")
        t.keys("Escape")
        s = t.wait_for("⚠ interrupted")
        t.wait_for("not part of the memory")
        status = db.execute("SELECT status FROM turns ORDER BY id DESC LIMIT 1").fetchone()[0]
        assert status == "interrupted", status
        # Typed text survives a stream; the session keeps working after the cancel.
        t.type("Where am I moving?")
        t.keys("Enter")
        t.wait_for(lambda s: s.count("You're moving to Lisbon.") >= 2)
        # Resizes re-lay out from state.
        t.resize(60, 20)
        s = t.wait_for(lambda s: len(s.splitlines()[0]) <= 60 and "You're moving to Lisbon." in s)
        t.resize(200, 60)
        s = t.wait_for(lambda s: "Response chain" in s and "Memory" in s)
        t.resize(30, 8)
        t.wait_for("terminal too small")
        t.resize(120, 40)
        t.wait_for("Response chain")
        # Help from the key table, then quit; the terminal is restored.
        t.keys("F1")
        t.wait_for("Help · keys")
        t.keys("Escape")
        t.wait_for("Help · keys", gone=True)
        t.keys("C-q")
        t.wait_for("CHATBENCH-EXITED")
        assert stty.same(), "stty -a differs after quitting"
    finally:
        t.close()


def paste_never_sends_and_signals_restore():
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    for sig in ["TERM", "HUP", "INT"]:
        pidfile = os.path.join(home, "pid")
        # A subshell writes its pid, then becomes chatbench (exec), so the test can signal it.
        statusfile = os.path.join(home, "status")
        stty = SttyCheck(home, f"(echo $BASHPID > {pidfile}; exec env LANG=C.UTF-8 CHATBENCH_HOME={home} {BIN}); echo $? > {statusfile}",
                         "SIGNAL-EXITED")
        t = Tmux(stty.shell, 100, 30)
        try:
            t.wait_for("SERVER CHAIN")
            if sig == "TERM":
                t.paste("line one\nline two\n")
                s = t.wait_for("line two")
                assert "Nice to meet" not in s and "streaming" not in s, s
            pid = int(open(pidfile).read().strip())
            os.kill(pid, {"TERM": 15, "HUP": 1, "INT": 2}[sig])
            t.wait_for("SIGNAL-EXITED")
            assert stty.same(), f"stty -a differs after SIG{sig}"
            # Killed, not quit: the exit status says which signal (128 + its number), as a shell's would.
            status = open(statusfile).read().strip()
            assert status == str(128 + {"TERM": 15, "HUP": 1, "INT": 2}[sig]), f"SIG{sig}: exit status {status}"
        finally:
            t.close()


def pasted_tabs_are_kept():
    """Bracketed paste of indented code: the tabs reach the stored message, not just the screen."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"env LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=0 {BIN} --session code", 100, 30)
    try:
        t.wait_for("SERVER CHAIN")
        code = "def f(x):\n\tif x:\n\t\treturn 1\n\treturn 0"
        t.paste(code)
        t.wait_for("return 0")
        t.keys("Enter")
        t.wait_for("t1 in ")
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        stored = db.execute("SELECT content FROM messages WHERE role = 'user' ORDER BY id").fetchone()[0]
        assert stored == code, repr(stored)
        t.keys("C-q")
    finally:
        t.close()


def dumb_terminal_is_refused():
    """TERM=dumb cannot draw the screen: chatbench says so and exits instead of taking keys blind."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"bash --norc -c 'env TERM=dumb LANG=C.UTF-8 CHATBENCH_HOME={home} {BIN}; echo EXIT=$?; sleep 30'", 100, 30)
    try:
        s = t.wait_for("EXIT=")
        assert "EXIT=1" in s and "cannot move the cursor" in s, s
        assert not os.path.exists(os.path.join(home, "workbench.sqlite")) or sqlite3.connect(os.path.join(home, "workbench.sqlite")).execute(
            "SELECT count(*) FROM messages").fetchone()[0] == 0
    finally:
        t.close()


def growing_then_quitting_leaves_the_shell_clean():
    """After the terminal grows, quitting leaves no box of the screen on the shell's screen."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"bash --norc -c 'echo SHELL-BEFORE; env LANG=C.UTF-8 CHATBENCH_HOME={home} {BIN}; echo AFTER-QUIT; sleep 30'", 80, 24)
    try:
        t.wait_for("SERVER CHAIN")
        t.resize(120, 40)
        t.wait_for(lambda s: len(s.splitlines()) >= 39 and "Response chain" in s and s.splitlines()[-1].strip() != "")
        t.keys("C-q")
        s = t.wait_for("AFTER-QUIT")
        assert not any(c in s for c in "┌│└─"), s
    finally:
        t.close()


def compare_view_two_messages():
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"env LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=5 {BIN}", 120, 40)
    try:
        t.wait_for("SERVER CHAIN")
        t.keys("F3")
        t.wait_for("COMPARE · 2 modes")
        t.wait_for("┌─ chain")
        t.wait_for("┌─ client")
        t.type("My name is Priya and I'm moving to Lisbon.")
        t.keys("Enter")
        t.wait_for(lambda s: s.count("Nice to meet you, Priya!") == 2)
        t.wait_for("total  client")
        t.type("Where am I moving?")
        t.keys("Enter")
        # Both columns answered turn 2 (a reply's text shows before its turn is recorded: wait for the
        # rows), the table has its rows, the chart one line per mode.
        s = t.wait_for(lambda s: s.count("You're moving to Lisbon.") == 2 and "× the bytes of chain" in s
                       and "2  chain" in s and "2  client" in s)
        assert "Request bytes per turn" in s
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        names = [r[0] for r in db.execute("SELECT name FROM sessions WHERE name LIKE 'compare-%' ORDER BY name")]
        assert len(names) == 2 and names[0].endswith("-chain") and names[1].endswith("-client"), names
        counts = [r[0] for r in db.execute("SELECT count(*) FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.name LIKE 'compare-%' GROUP BY s.id")]
        assert counts == [2, 2], counts
        t.keys("F3")
        t.wait_for("SERVER CHAIN")
        t.keys("C-q")
    finally:
        t.close()


def compare_turn_cancels_with_escape():
    """Esc while the compare columns stream: every reply stops, is kept as interrupted, and the view is usable."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"env LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=40 {BIN}", 120, 40)
    try:
        t.wait_for("SERVER CHAIN")
        t.keys("F3")
        t.wait_for("COMPARE · 2 modes")
        t.type("My name is Priya and I'm moving to Lisbon. What do you know about me and what should I pack for the move?")
        t.keys("Enter")
        t.wait_for("replies arriving")
        t.keys("Escape")
        s = t.wait_for(lambda s: "replies arriving" not in s and s.count("⚠ interrupted") == 2)
        assert "failed: interrupted" in s, s
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        statuses = [r[0] for r in db.execute("SELECT t.status FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.name LIKE 'compare-%'")]
        assert statuses == ["interrupted", "interrupted"], statuses
        t.keys("F3")
        t.wait_for("SERVER CHAIN")
        t.keys("C-q")
    finally:
        t.close()


def browse_search_open_fork_export():
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    env = f"LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=0"
    for name, text in [("trip", "My name is Priya and I'm moving to Lisbon."), ("work", "I work as a nurse in Porto.")]:
        assert os.system(f"env {env} {BIN} send --session {name} \"{text}\" > /dev/null") == 0
    assert os.system(f"env {env} {BIN} send --session trip 'I have a cat named Miso.' > /dev/null") == 0
    t = Tmux(f"env {env} {BIN} --session work", 120, 30)
    try:
        t.wait_for('session "work"')
        t.keys("F4")
        t.wait_for("SESSIONS · 2 shown")
        t.keys("/")
        t.type("lisb")
        t.wait_for("SESSIONS · 1 shown")
        t.wait_for("Preview · trip")
        t.keys("Enter")              # leave the search
        t.keys("[")                  # fork point: the first response
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        first = db.execute("SELECT t.response_id FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.name = 'trip' ORDER BY t.id LIMIT 1").fetchone()[0]
        t.wait_for("fork point " + short(first))
        t.keys("f")
        t.wait_for("fork at " + first)
        t.keys("C-u")
        t.type("trip-early")
        t.keys("Enter")
        t.wait_for("forked trip at")
        t.keys("e")
        t.wait_for("exported to")
        assert os.path.exists(os.path.join(home, "exports", "trip.md")) and os.path.exists(os.path.join(home, "exports", "trip.json"))
        # Open the fork: its next turn chains from trip's first response and knows nothing of the cat.
        t.keys("/")
        t.keys("C-u")
        t.type("trip-early")
        t.wait_for("SESSIONS · 1 shown")
        t.keys("Enter")
        t.keys("Enter")
        t.wait_for('session "trip-early"')
        t.wait_for("fork of trip at " + short(first))
        t.type("Where am I moving? What's my cat's name?")
        t.keys("Enter")
        t.wait_for("You're moving to Lisbon.")
        t.wait_for("don't know about your cat")
        prev = db.execute("SELECT t.previous_response_id FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.name = 'trip-early' ORDER BY t.id DESC LIMIT 1").fetchone()[0]
        assert prev == first, (prev, first)
        t.keys("C-q")
    finally:
        t.close()


def ctrl_f_forks_at_an_early_message():
    """The whole conversation fits on screen, yet Ctrl-F then Up picks an early message to fork at."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    env = f"LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_STREAM_DELAY_MS=0"
    for text in ["My name is Priya.", "I have a cat named Miso."]:
        assert os.system(f"env {env} {BIN} send --session trip \"{text}\" > /dev/null") == 0
    t = Tmux(f"env {env} {BIN} --session trip", 120, 40)
    try:
        t.wait_for("I have a cat named Miso.")
        t.keys("C-f")
        t.wait_for("fork at m4")
        t.keys("Up", "Up")
        t.wait_for("fork at m2")
        t.keys("Enter")
        t.wait_for('session "trip-fork-1"')
        db = sqlite3.connect(os.path.join(home, "workbench.sqlite"))
        texts = [r[0] for r in db.execute("SELECT m.content FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.name = 'trip-fork-1' ORDER BY m.id")]
        assert len(texts) == 2 and texts[0] == "My name is Priya.", texts
        t.type("What's my cat's name?")
        t.keys("Enter")
        t.wait_for("don't know about your cat")
        t.keys("C-q")
    finally:
        t.close()


def resize_storm_unknown_keys_and_a_crash_while_drawing():
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"env LANG=C.UTF-8 CHATBENCH_HOME={home} {BIN}", 100, 30)
    try:
        t.wait_for("SERVER CHAIN")
        for w, h in [(30, 8), (200, 60), (1, 1), (80, 24), (500, 200), (41, 13), (120, 40), (60, 20), (100, 30)]:
            t.resize(w, h)
        # Unknown keys and escape sequences are ignored, not typed and not fatal.
        for seq in ["\x1b[99~", "\x1b[1;5P", "\x1bOZ", "\x1b[<0;5;5M", "\x07"]:
            t.t("send-keys", "-t", "app", "-l", seq)
        t.keys("M-x", "F12", "C-g")

        t.type("still here")
        s = t.wait_for(lambda s: "> still here" in s and "Response chain" in s)
        assert "[99~" not in s and "1;5P" not in s, s
        # Escape with a key right after it: both count (Escape closes the help, Ctrl-Q quits).
        t.keys("F1")
        t.wait_for("Help · keys")
        t.keys("Escape", "C-q")
        t.wait_for(lambda _: t.dead())
    finally:
        t.close()
    # A failure while drawing: the crash handler still restores the terminal.
    stty = SttyCheck(home, f"env LANG=C.UTF-8 CHATBENCH_HOME={home} CHATBENCH_FAULT=draw SWIFT_BACKTRACE=enable=no {BIN} 2>/dev/null",
                     "CRASH-EXITED")
    t = Tmux(stty.shell, 100, 30)
    try:
        s = t.wait_for("CRASH-EXITED")
        assert stty.same(), "stty -a differs after a crash while drawing"
        assert "SERVER CHAIN" not in s, "the alternate screen was not left:\n" + s
    finally:
        t.close()


def escape_then_a_function_key_keeps_the_key():
    """Esc and F3 typed together: the Esc is one key and F3 still opens the compare view."""
    home = tempfile.mkdtemp(prefix="cb-e2e-")
    t = Tmux(f"env LANG=C.UTF-8 CHATBENCH_HOME={home} {BIN}", 100, 30)
    try:
        t.wait_for("SERVER CHAIN")
        t.keys("Escape", "F3")
        t.wait_for("COMPARE")
        t.keys("Escape", "F4")
        t.wait_for("SESSIONS")
    finally:
        t.close()


if __name__ == "__main__":
    failures = 0
    for test in [recall_chain_toggle_cancel_resize_quit, paste_never_sends_and_signals_restore, pasted_tabs_are_kept, dumb_terminal_is_refused,
                 growing_then_quitting_leaves_the_shell_clean, compare_view_two_messages,
                 compare_turn_cancels_with_escape,
                 browse_search_open_fork_export, ctrl_f_forks_at_an_early_message, resize_storm_unknown_keys_and_a_crash_while_drawing,
                 escape_then_a_function_key_keeps_the_key]:
        started = time.monotonic()
        try:
            test()
            print(f"ok {test.__name__} ({time.monotonic() - started:.1f}s)")
        except Exception as e:  # report every failure, then fail the run
            failures += 1
            print(f"FAIL {test.__name__}: {e}")
    sys.exit(1 if failures else 0)
