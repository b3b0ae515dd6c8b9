"""End-to-end: the screen with server compaction chosen in F2 (#19). At 120x40: F2, "server chain +
compact:", the threshold typed as 1000, then turns until the server compacts: the chain panel marks it,
the memory panel says what the server holds, and the chain still recalls. At 80x24: the picker's server
rows, and a compare column with a server policy. The X-ray on an old turn, and past the chain panel's
turns back to the first. Usage: screen_server_memory_e2e.py BINARY."""
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(__file__))
from tmux_driver import Tmux  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
WORDS = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "bridge"]


def env(home):
    pairs = {"LANG": "C.UTF-8", "CHATBENCH_HOME": home, "XDG_CONFIG_HOME": home + "/config"}
    return " ".join(f"{k}={v}" for k, v in pairs.items())


@contextmanager
def flow(name, args, width=120, height=40, sends=()):
    """The screen on a fresh data folder, for one flow: `sends` (session, message) go first through
    `chatbench send`; yields the driver, quits with Ctrl-Q, always closes, and says the flow passed."""
    home = tempfile.mkdtemp(prefix=f"cb-{name}-")
    run_env = {**os.environ, "CHATBENCH_HOME": home, "XDG_CONFIG_HOME": home + "/config"}
    for session, message in sends:
        subprocess.run([BIN, "send", "--session", session, message], env=run_env, check=True, capture_output=True)
    t = Tmux(f"env {env(home)} {BIN} {args}", width, height)
    try:
        yield t
        t.keys("C-q")
    finally:
        t.close()
    print(f"ok {name}")


def chatter(i):
    return " ".join(WORDS[(i + k) % len(WORDS)] for k in range(110))


def compaction_chosen_in_f2():
    with flow("compaction_chosen_in_f2", "--session s") as t:
        t.wait_for("no turns yet")
        t.keys("F2")
        t.wait_for("+ compact:20000 tokens")
        t.keys("Down")
        for _ in range(5):
            t.keys("BSpace")
        t.type("1000")
        t.wait_for("+ compact:1000 tokens")
        t.keys("Enter")
        t.wait_for("srv policy compact:1000")
        t.send("My name is Priya.", "Nice to meet you, Priya")
        screen = ""
        for i in range(12):
            screen = t.send(chatter(i), f" t{i + 2} ")
            if "server compacted" in screen:
                break
        assert "server compacted" in screen, screen
        assert "compaction +" in screen and "cmp t" in screen, screen
        screen = t.send("What's my name?", "Your name is Priya")


def small_screen_picker_and_compare():
    with flow("small_screen_picker_and_compare", "--session small", 80, 24) as t:
        t.wait_for("no turns yet")
        t.keys("F2")
        s = t.wait_for("truncate:auto")
        assert "+ compact:" in s, s
        t.keys("Escape")
        t.wait_for("truncate:auto", gone=True)
        t.keys("F3")
        t.wait_for("COMPARE")
        t.keys("F2")
        t.wait_for("add this column")
        t.keys("Down")   # server chain + compact:20000
        t.keys("Enter")
        s = t.wait_for("compact:20000")
        t.keys("Escape")


def xray_on_an_old_turn():
    earlier = [("last-week", "I'm planning a trip to Lisbon in the spring.")]
    with flow("xray_on_an_old_turn", "--session today --mode layered", sends=earlier) as t:
        t.wait_for("no turns yet")
        t.send("What did I say about Lisbon?", "trip to Lisbon in the spring")
        t.send("My name is Priya.", "Nice to meet you, Priya")
        t.send("I have a cat named Miso.", "Noted: you have a cat named Miso")
        t.keys("F5")
        s = t.wait_for("Context X-ray · turn 3")
        assert "[new]" in s and "updater:" in s, s
        t.keys("Left")
        t.keys("Left")
        s = t.wait_for("Context X-ray · turn 1")
        s = t.wait_for("[episodic]")
        assert "[episodic 1]" in s or "[episodic 2]" in s, s
        assert "From an earlier session" in s, s
        t.keys("PageDown")
        t.keys("Escape")
        t.wait_for("Context X-ray", gone=True)


def xray_past_the_chain_panel():
    """70 turns: the chain panel holds the newest 64, the X-ray walks back to the first one."""
    sends = [("long", "My name is Priya and the first message says so.")] + [("long", f"message number {i}") for i in range(2, 71)]
    with flow("xray_past_the_chain_panel", "--session long", sends=sends) as t:
        t.wait_for("message number 70")
        t.keys("F5")
        t.wait_for("Context X-ray · turn 70")
        for _ in range(69):
            t.keys("Left")
        s = t.wait_for("Context X-ray · turn 1 ")
        s = t.wait_for("the first message says so")
        t.keys("Left")   # nothing older: it stays
        t.keys("Right")
        s = t.wait_for("Context X-ray · turn 2 ")
        s = t.wait_for("message number 2")
        t.keys("Escape")
        t.wait_for("Context X-ray", gone=True)


def ctrl_n_keeps_the_profile():
    """A new session from the screen (Ctrl-N) keeps the mode and the profile: the user's facts go on."""
    with flow("ctrl_n_keeps_the_profile", "--session p1 --mode layered --profile kim") as t:
        t.wait_for("no turns yet")
        t.send("My name is Kim and I live in Accra.", "Nice to meet you, Kim")
        t.wait_for(lambda s: " t1 in " in s and "streaming…" not in s)   # Ctrl-N waits for the reply's turn
        t.keys("C-n")
        t.wait_for("name:")
        t.type("p2")
        t.keys("Enter")
        s = t.wait_for('session "p2"')
        assert "LAYERED" in s, s
        s = t.send("What's my name?", "Your name is Kim")
        assert "profile kim" in s, s
        t.wait_for(lambda s: " t1 in " in s and "streaming…" not in s)
        # Ctrl-N with the name of a session that exists opens nothing and changes nothing.
        t.keys("C-n")
        t.wait_for("name:")
        t.type("p1")
        t.keys("Enter")
        s = t.wait_for("already exists")
        assert '"p2"' in s.splitlines()[0] and "LAYERED" in s, s


compaction_chosen_in_f2()
small_screen_picker_and_compare()
ctrl_n_keeps_the_profile()
xray_on_an_old_turn()
xray_past_the_chain_panel()
