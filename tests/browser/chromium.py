"""Headless Chromium driven over the DevTools protocol on a pipe.

--remote-debugging-pipe: Chromium reads commands from fd 3 and writes
replies and events to fd 4, each a JSON message ended by a NUL byte; no TCP
port is opened.  The test CA and the client certificate go into
$HOME/.pki/nssdb of a throwaway HOME; the client certificate is selected
without a prompt by an auto-select-certificate content setting written into
the profile's Preferences before launch.  --host-resolver-rules maps the
test names to 127.0.0.1 and every other name to NOTFOUND.
"""
import fcntl
import json
import os
import select
import time

import firefox  # nss_import
from procs import Proc

CHROMIUM = "/usr/lib/chromium/chromium"  # /usr/bin/chromium is a shell wrapper

RESOLVER_RULES = ("MAP *.example.com 127.0.0.1, MAP example.com 127.0.0.1, "
                  "MAP other.org 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost")

# Background networking and services off, so that the only connections are
# the page's (and the namespace has no route out in any case).
FLAGS = [
    "--headless", "--no-sandbox", "--remote-debugging-pipe",
    "--host-resolver-rules=" + RESOLVER_RULES,
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
    "--disable-crash-reporter", "--no-first-run", "--no-default-browser-check", "--no-pings",
    "--metrics-recording-only", "--safebrowsing-disable-auto-update", "--disable-quic",
    "--disable-gpu", "--password-store=basic", "--use-mock-keychain", "--mute-audio",
    "--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
    "InterestFeedContentSuggestions,HttpsUpgrades,UseDnsHttpsSvcb,AsyncDns,"
    "NetworkTimeServiceQuerying,PrivacySandboxSettings4",
]


def make_profile(work, pki):
    home = os.path.join(work, "chromium-home")
    data = os.path.join(work, "chromium-profile")
    nss = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nss)
    os.makedirs(os.path.join(data, "Default"))
    firefox.nss_import(nss, pki)
    # Any client certificate (empty filter) for admin, without a prompt.
    prefs = {"profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
        "https://admin.example.com:443,*": {"setting": {"filters": [{}]}}}}}}}
    with open(os.path.join(data, "Default", "Preferences"), "w") as f:
        json.dump(prefs, f)
    return home, data


def _high_fd(fd):
    """Move fd to 10 or above, so the child's dup2 onto 3 and 4 cannot clobber it."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Pipe:
    """The DevTools protocol over Chromium's fds 3 (commands) and 4 (replies)."""

    def __init__(self):
        r3, self.w = os.pipe()
        self.r, w4 = os.pipe()
        self.child_r, self.child_w = _high_fd(r3), _high_fd(w4)
        self.w, self.r = _high_fd(self.w), _high_fd(self.r)
        self.buf = b""
        self.msgid = 0
        self.events = []

    def preexec(self):
        os.dup2(self.child_r, 3)
        os.dup2(self.child_w, 4)

    def parent_side(self):
        os.close(self.child_r)
        os.close(self.child_w)

    def _next(self, deadline):
        for _ in range(1 << 20):  # bounded: each pass reads or returns
            nul = self.buf.find(b"\0")
            if nul >= 0:
                msg, self.buf = self.buf[:nul], self.buf[nul + 1:]
                return json.loads(msg)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise RuntimeError("DevTools: no reply in time")
            chunk = os.read(self.r, 65536)
            if not chunk:
                raise RuntimeError("DevTools pipe closed (Chromium exited)")
            self.buf += chunk
        raise RuntimeError("DevTools: too many messages")

    def call(self, method, params=None, session=None, deadline=None):
        self.msgid += 1
        msg = {"id": self.msgid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        for _ in range(1 << 16):
            m = self._next(deadline)
            if m.get("id") == self.msgid:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)
        raise RuntimeError("%s: no reply" % method)

    def wait_event(self, method, session, deadline):
        for _ in range(1 << 16):
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._next(deadline))
        raise RuntimeError("%s: never came" % method)

    def close(self):
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass


def run_page(work, pki, url, script, timeout, net_log):
    """Start Chromium, open `url`, run `script` (an expression whose value is
    a promise) in it; returns (value, browser log path).  Bounded by
    `timeout` seconds; Chromium is stopped by its process group."""
    home, data = make_profile(work, pki)
    env = dict(os.environ, HOME=home)
    env.pop("DISPLAY", None)
    log = os.path.join(work, "chromium.log")
    pipe = Pipe()
    argv = [CHROMIUM] + FLAGS + ["--user-data-dir=" + data, "--log-net-log=" + net_log,
                                 "about:blank"]
    t0 = time.monotonic()
    deadline = t0 + timeout
    step = lambda what: print("chromium: %-12s %5.1f s" % (what, time.monotonic() - t0), flush=True)
    proc = Proc(argv, log, env=env, pass_fds=(3, 4), preexec_fn=pipe.preexec, limit=timeout + 10)
    pipe.parent_side()
    print("chromium: started pid %d" % proc.pid, flush=True)
    try:
        targets = pipe.call("Target.getTargets", deadline=deadline)["targetInfos"]
        pages = [t for t in targets if t.get("type") == "page"]
        target = pages[0]["targetId"] if pages else pipe.call(
            "Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                            deadline=deadline)["sessionId"]
        step("session")
        pipe.call("Page.enable", session=session, deadline=deadline)
        nav = pipe.call("Page.navigate", {"url": url}, session=session, deadline=deadline)
        if nav.get("errorText"):
            raise RuntimeError("navigation to %s failed: %s" % (url, nav["errorText"]))
        pipe.wait_event("Page.loadEventFired", session, deadline)
        step("page loaded")
        r = pipe.call("Runtime.evaluate", {"expression": script, "awaitPromise": True,
                                           "returnByValue": True}, session=session,
                      deadline=deadline)
        step("loads done")
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % json.dumps(r["exceptionDetails"])[:500])
        try:
            pipe.call("Browser.close", deadline=time.monotonic() + 5)
        except RuntimeError:
            pass
        proc.wait(5)
        return r.get("result", {}).get("value"), log
    finally:
        pipe.close()
        proc.stop()
