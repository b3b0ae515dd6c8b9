"""A small tmux driver for end-to-end tests of the real chatbench binary: a private tmux server per
test, keys sent with send-keys, the screen read with capture-pane, and waits for text (never blind
sleeps)."""
import os
import shutil
import subprocess
import tempfile
import time


class Tmux:
    def __init__(self, command, width=120, height=40, env=None):
        self.dir = tempfile.mkdtemp(prefix="cb-tmux-")
        self.sock = os.path.join(self.dir, "sock")
        env_args = []
        for k, v in (env or {}).items():
            env_args += ["-e", f"{k}={v}"]
        self.t("-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", str(width), "-y", str(height), *env_args, command)
        self.t("set-option", "-t", "app", "remain-on-exit", "on")

    def t(self, *args, check=True):
        r = subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {args}: {r.stderr}")
        return r.stdout

    def screen(self):
        return self.t("capture-pane", "-p", "-t", "app")

    def wait_for(self, want, timeout=10.0, gone=False):
        end = time.monotonic() + timeout
        while True:
            s = self.screen()
            ok = want(s) if callable(want) else (want in s)
            if ok != gone:
                return s
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {'absence of ' if gone else ''}{want!r}; screen:\n{s}")
            time.sleep(0.03)

    def keys(self, *keys):
        self.t("send-keys", "-t", "app", *keys)

    def type(self, text):
        self.t("send-keys", "-t", "app", "-l", text)

    def send(self, text, wait, timeout=15.0):
        """Types a message, presses Enter and waits for `wait` (text of the reply, not of the message)."""
        self.type(text)
        self.keys("Enter")
        return self.wait_for(wait, timeout=timeout)

    def paste(self, text):
        self.t("set-buffer", "-b", "p", text)
        self.t("paste-buffer", "-p", "-b", "p", "-t", "app", "-d")

    def resize(self, w, h):
        self.t("resize-window", "-t", "app", "-x", str(w), "-y", str(h))

    def dead(self):
        return self.t("display-message", "-p", "-t", "app", "#{pane_dead}").strip() == "1"

    def close(self):
        self.t("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
