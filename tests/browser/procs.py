"""Bounded child processes for the browser tests.

Every process runs in a session (process group) of its own, so that a
browser's helper processes stop with it; stop() signals that group by the
id of the process we started, SIGTERM then SIGKILL, and reaps it.
"""
import os
import signal
import subprocess
import time


class Proc:
    """`limit`: seconds after which GNU timeout, started as the group's
    leader, kills the whole group even if this script itself has died."""

    def __init__(self, argv, log_path, env=None, pass_fds=(), preexec_fn=None, limit=None):
        if limit:
            argv = ["timeout", "--preserve-status", "--kill-after=5", str(int(limit))] + list(argv)
        self.argv = argv
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, env=env, pass_fds=pass_fds,
                                  preexec_fn=preexec_fn, start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def wait(self, seconds):
        """Exit status, or None if still running after `seconds`."""
        try:
            return self.p.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace=5.0):
        """SIGTERM the process group, SIGKILL it after `grace` seconds; exit status."""
        if self.alive():
            self._signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self._signal(signal.SIGKILL)
                self.wait(5)
        # Helpers that outlived their parent (same group, the id we created).
        self._signal(signal.SIGKILL)
        self.log.close()
        return self.p.returncode

    def _signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_until(pred, seconds, step=0.05):
    """Poll pred() until it is true or `seconds` pass (bounded); its last value."""
    end = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)
