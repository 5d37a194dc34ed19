"""Headless Firefox ESR driven over Marionette (no geckodriver).

The profile is made from scratch: the test CA and the client certificate go
into its NSS database (certutil, pk12util), and user.js turns off every
background service, so that the only connections are the page's.  Names
resolve through the private /etc/hosts of the test's namespaces; HTTPS
(SVCB) record lookups are off.  network.dns.forceResolve is deliberately
not used: it turns off Firefox's IP-based coalescing.
"""
import json
import os
import socket
import subprocess
import time

from procs import Proc, wait_until

MARIONETTE_PORT = 2828  # inside the test's own network namespace

# Background services and their endpoints, all off.  Endpoints are emptied
# as well, so a service we missed has nowhere to go.
PREFS = {
    "marionette.port": MARIONETTE_PORT,
    "security.default_personal_cert": "Select Automatically",
    "security.enterprise_roots.enabled": False,
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "security.certerrors.mitm.priming.enabled": False,
    "security.pki.crlite_mode": 0,
    # name resolution: the system resolver only, no DoH, no HTTPS records
    "network.trr.mode": 5,
    "network.dns.native_https_query": False,
    "network.dns.use_https_rr_as_altsvc": False,
    "network.dns.echconfig.enabled": False,
    "network.dns.http3_echconfig.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.dns.disableIPv6": True,
    "network.http.http3.enable": False,
    "network.http.speculative-parallel-limit": 0,
    "network.predictor.enabled": False,
    "network.prefetch-next": False,
    "network.proxy.type": 0,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "dom.security.https_only_mode": False,
    # telemetry, studies, experiments
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.shutdownPingSender.enabled": False,
    "toolkit.telemetry.firstShutdownPing.enabled": False,
    "toolkit.telemetry.newProfilePing.enabled": False,
    "toolkit.telemetry.updatePing.enabled": False,
    "toolkit.telemetry.bhrPing.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "nimbus.rollouts.enabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.newtabpage.activity-stream.feeds.section.topstories": False,
    "browser.newtabpage.activity-stream.feeds.snippets": False,
    "browser.topsites.contile.enabled": False,
    "browser.discovery.enabled": False,
    "extensions.pocket.enabled": False,
    "identity.fxaccounts.enabled": False,
    "services.sync.engine.addons": False,
    # updates and remote settings
    "app.update.auto": False,
    "app.update.enabled": False,
    "app.update.disabledForTesting": True,
    "app.update.url": "",
    # Release builds ignore this outside Mozilla's automation and still poll
    # firefox.settings.services.mozilla.com; inside the test's namespaces
    # that name does not resolve and no route leads out.
    "services.settings.server": "http://127.0.0.1:9/",
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "extensions.blocklist.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    "browser.search.update": False,
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "geo.enabled": False,
    "geo.provider.network.url": "",
    # safe browsing
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    # push
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    # start-up
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
    "browser.urlbar.suggest.quicksuggest.sponsored": False,
    "browser.urlbar.suggest.quicksuggest.nonsponsored": False,
}


def make_profile(profile, pki):
    """A fresh profile in `profile`: NSS db with the CA and client cert, user.js."""
    os.makedirs(profile, exist_ok=True)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in PREFS.items():
            f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))
    nss_import(profile, pki)


def nss_import(db, pki):
    """The test CA (trusted for TLS servers) and the client certificate."""
    d = "sql:" + db
    run(["certutil", "-N", "-d", d, "--empty-password"])
    run(["certutil", "-A", "-d", d, "-n", "misdirect test CA", "-t", "C,,",
         "-i", os.path.join(pki, "ca.pem")])
    run(["pk12util", "-i", os.path.join(pki, "client.p12"), "-d", d, "-W", ""])


def run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (argv[0], r.returncode,
                                                r.stdout.decode(errors="replace")))


class Marionette:
    """The Marionette wire protocol: "LEN:JSON" messages; a command is
    [0, id, name, params], its response [1, id, error, result]."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.msgid = 0
        hello = self._recv()
        if not isinstance(hello, dict) or hello.get("applicationType") != "gecko":
            raise RuntimeError("not a Marionette server: %r" % (hello,))

    def _recv(self):
        for _ in range(1 << 16):  # bounded: each pass reads or returns
            colon = self.buf.find(b":")
            if colon > 0:
                n = int(self.buf[:colon])
                if len(self.buf) >= colon + 1 + n:
                    msg = self.buf[colon + 1:colon + 1 + n]
                    self.buf = self.buf[colon + 1 + n:]
                    return json.loads(msg)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("Marionette closed the connection")
            self.buf += chunk
        raise RuntimeError("Marionette message too large")

    def call(self, name, params=None):
        self.msgid += 1
        data = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        for _ in range(64):
            msg = self._recv()
            if isinstance(msg, list) and len(msg) == 4 and msg[0] == 1 and msg[1] == self.msgid:
                if msg[2]:
                    raise RuntimeError("%s: %s" % (name, msg[2]))
                return msg[3]
        raise RuntimeError("%s: no response" % name)

    def close(self):
        self.sock.close()


def run_page(work, pki, url, script, timeout, moz_log):
    """Start Firefox, open `url`, run `script` (an expression whose value is
    a promise) in it; returns (value, browser log path).  Bounded by
    `timeout` seconds; Firefox is stopped by its process group."""
    profile = os.path.join(work, "firefox-profile")
    make_profile(profile, pki)
    env = dict(os.environ)
    env["HOME"] = os.path.join(work, "firefox-home")
    os.makedirs(env["HOME"], exist_ok=True)
    env["MOZ_LOG"] = "timestamp,nsHttp:5,nsHostResolver:5"
    env["MOZ_LOG_FILE"] = moz_log
    env["MOZ_CRASHREPORTER_DISABLE"] = "1"
    env.pop("DISPLAY", None)
    log = os.path.join(work, "firefox.log")
    proc = Proc(["firefox-esr", "--headless", "--marionette", "--no-remote",
                 "--profile", profile, "about:blank"], log, env=env, limit=timeout + 10)
    t0 = time.monotonic()
    deadline = t0 + timeout
    print("firefox: started pid %d" % proc.pid, flush=True)
    client = None
    try:
        def connect():
            nonlocal client
            if not proc.alive():
                raise RuntimeError("firefox exited with %s (log: %s)" % (proc.p.returncode, log))
            try:
                client = Marionette(MARIONETTE_PORT, timeout=max(1.0, deadline - time.monotonic()))
                return True
            except OSError:
                return False
        if not wait_until(connect, max(1.0, deadline - time.monotonic()), step=0.2):
            raise RuntimeError("Marionette did not answer on port %d" % MARIONETTE_PORT)
        def step(what):
            print("firefox: %-12s %5.1f s" % (what, time.monotonic() - t0), flush=True)
        step("marionette")
        left = lambda: max(1, int((deadline - time.monotonic()) * 1000))
        client.call("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {
            "acceptInsecureCerts": False, "pageLoadStrategy": "normal",
            "timeouts": {"script": left(), "pageLoad": left()}}}})
        step("session")
        client.call("WebDriver:Navigate", {"url": url})
        step("page loaded")
        value = client.call("WebDriver:ExecuteScript", {"script": "return " + script, "args": []})
        step("loads done")
        try:
            client.call("Marionette:Quit", {"flags": ["eForceQuit"]})
        except (RuntimeError, OSError):
            pass
        proc.wait(5)
        return value.get("value") if isinstance(value, dict) else value, log
    finally:
        if client:
            client.close()
        proc.stop()
