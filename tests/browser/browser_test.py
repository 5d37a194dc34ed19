#!/usr/bin/env python3
"""Real browsers against misdirect-server (ctest label `browser`).

  browser_test.py --browser firefox|chromium --server BIN --e2e-lib FILE --result FILE

Two runs, each with a fresh PKI-backed server (the demo's table: www, blog
and admin -- client certificate required -- on one certificate, *.apps on
the same certificate, other.org on its own) and a fresh browser profile:

  origin    the server sends its per-SNI ORIGIN frame (the default)
  control   misdirect-server --no-origin-frame

A page on www makes ten credentialed loads (img without crossorigin, fetch
with credentials 'include', a script), one after another, to blog, admin,
other.org, x.apps, example.com and www.  The assertions read only the
server's log.  The measured figures go to --result (JSON) for
origin_table.py, which keeps the table in docs/origin.md.

Everything runs in a network namespace of its own with only loopback up
(unshare -n), and a mount namespace in which a private /etc/hosts maps the
test names to 127.0.0.1: nothing the browsers do can leave the machine, and
the server can bind 443 and 80 without colliding with anything.

Exit 0 = pass, 1 = fail, 77 = skipped (the browser or a tool is missing).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from procs import Proc, wait_until  # noqa: E402
import serverlog  # noqa: E402
import harness  # noqa: E402
from harness import (LOADS, NAMES, Checks, enter_namespaces, in_namespaces,  # noqa: E402
                     load_target, page_problems, page_script, require_tools, setup_namespaces,
                     skip)

TLS_PORT, PLAIN_PORT = 443, 80
BROWSER_TIMEOUT = 60  # seconds per browser run, start to quit
BROWSER_BIN = {"firefox": "firefox-esr", "chromium": "/usr/lib/chromium/chromium"}


# ---------------------------------------------------------- PKI and server --

def make_pki(e2e_lib, d):
    """The e2e tests' throwaway PKI and demo table (tests/e2e/e2e-lib.sh),
    listeners moved to 443 and 80, and the client certificate as PKCS#12."""
    harness.make_pki(e2e_lib, d, 'e2e_vhosts "$1" %d %d' % (TLS_PORT, PLAIN_PORT))
    vh = os.path.join(d, "demo.vhosts")
    with open(vh) as f:
        text = f.read()
    text = re.sub(r"(?m)^(listener\s+web\s+https\s+)\d+", r"\g<1>%d" % TLS_PORT, text)
    text = re.sub(r"(?m)^(listener\s+plain\s+http\s+)\d+", r"\g<1>%d" % PLAIN_PORT, text)
    with open(vh, "w") as f:
        f.write(text)
    return vh


def server_ready(log):
    """The server logs 'ready' once every listener is bound (no probing
    connection: it would show in the log as a failed handshake)."""
    try:
        with open(log) as f:
            return any(" ready " in line for line in f)
    except OSError:
        return False


def start_server(server, vhosts, log, control):
    argv = [server, "-c", vhosts, "--log", log] + (["--no-origin-frame"] if control else [])
    p = Proc(argv, log + ".stderr", limit=BROWSER_TIMEOUT + 30)
    if not wait_until(lambda: not p.alive() or server_ready(log), 10):
        p.stop()
        raise RuntimeError("misdirect-server did not start")
    if not p.alive():
        raise RuntimeError("misdirect-server exited: %s" % open(log + ".stderr").read())
    return p


# --------------------------------------------------------------- checks --

def analyse(events, page):
    """What the server's log shows for one run (figures for the table and
    the raw material of the assertions)."""
    conns = serverlog.Connections(events)
    decisions = [e for e in events if e["kind"] == "decision"]
    loads = []
    for i, (kind, host) in enumerate(LOADS):
        t = load_target(i, kind, host)
        ds = [d for d in decisions if d.get("target", "").split("?")[0] == t]
        loads.append({"i": i, "kind": kind, "host": host, "decisions": ds})
    m = {
        "connections": conns.count,
        "connection_snis": sorted(set(conns.snis)),
        # names of the connections that carried requests (browsers also open
        # connections they abandon, and how many varies from run to run)
        "snis_used": sorted({d.get("sni", "-") for d in decisions}),
        "listeners": sorted({d.get("listener", "-") for d in decisions}),
        "handshake_failures": [e["text"] for e in events if e["kind"] == "handshake"],
        "refused": [e["text"] for e in events if e["kind"] == "refused"],
        # hosts the browser sent on a connection made for another name
        "coalesced": sorted({serverlog.host_only(d.get("host", "-")) for d in decisions
                             if serverlog.host_only(d.get("host", "-")) != d.get("sni")}),
        "misdirected": sorted({"%s (%s)" % (serverlog.host_only(d.get("host", "-")),
                                            d.get("reason")) for d in decisions
                               if d["status"] == 421}),
        "n421": sum(1 for d in decisions if d["status"] == 421),
        "retried": 0,
        "fetch_errors": page_problems(page)[0],
        "page_timeouts": page_problems(page)[1],
    }
    m["loads"] = len(loads)
    m["loads_200"] = sum(1 for ld in loads
                         if ld["decisions"] and ld["decisions"][-1]["status"] == 200)
    m["loads_421"] = m["retried_own"] = 0
    for ld in loads:
        ds = ld["decisions"]
        if not any(d["status"] == 421 for d in ds):
            continue
        m["loads_421"] += 1
        if ds[-1]["status"] == 200:
            m["retried"] += 1
            if ds[-1].get("sni") == ld["host"]:
                m["retried_own"] += 1
    return m, loads, conns, decisions


def check_common(c, tag, m, loads, page):
    c.expect("%s: the page reported every load" % tag, len(page) == len(LOADS),
             "got %d results" % len(page))
    for ld in loads:
        ds = ld["decisions"]
        what = "%s: %s %s ends in 200" % (tag, ld["kind"], ld["host"])
        c.expect(what, bool(ds) and ds[-1]["status"] == 200,
                 "; ".join(d["text"] for d in ds) or "never reached the server")
        # Only example.com redirects (308 redirect-alias to www); nothing else
        # answers anything but 200 or 421.
        odd = [d["text"] for d in ds if d["status"] not in (200, 421) and
               not (d["status"] == 308 and ld["host"] == "example.com")]
        c.expect("%s: %s %s: no status but 200, 421 (and example.com's 308)" %
                 (tag, ld["kind"], ld["host"]), not odd, "; ".join(odd))
    stray = sorted((set(m["connection_snis"]) | set(m["snis_used"])) - set(NAMES))
    c.expect("%s: every connection's SNI is a name of the page (nothing stray)" % tag, not stray,
             str(stray))
    c.expect("%s: every request came over TLS, on listener web" % tag,
             m["listeners"] == ["web"], str(m["listeners"]))
    c.expect("%s: nothing refused before deciding" % tag, not m["refused"], "; ".join(m["refused"]))
    c.expect("%s: the page saw no fetch error" % tag, not m["fetch_errors"],
             json.dumps(m["fetch_errors"]))
    c.expect("%s: no load timed out in the page" % tag, not m["page_timeouts"],
             json.dumps(m["page_timeouts"]))


def admin_recovers(c, tag, loads):
    """admin's 421s are policy-mismatch, and the same load is then served on
    admin's own connection (its SNI), which required the client certificate."""
    for ld in loads:
        if ld["host"] != "admin.example.com":
            continue
        ds = ld["decisions"]
        bad = [d["text"] for d in ds if d["status"] == 421 and d.get("reason") != "policy-mismatch"]
        c.expect("%s: %s admin: every 421 is policy-mismatch" % (tag, ld["kind"]), not bad,
                 "; ".join(bad))
        served = [d for d in ds if d["status"] == 200]
        c.expect("%s: %s admin: served only on a connection whose SNI is admin" % (tag, ld["kind"]),
                 bool(served) and all(d.get("sni") == "admin.example.com" for d in served),
                 "; ".join(d["text"] for d in ds))


def client_closed(line):
    """A handshake the client abandoned.  Chromium does when asked for a
    client certificate (it reconnects with the one it selected); both
    browsers drop parallel connections they turn out not to need."""
    return "client closed" in line or "unexpected eof" in line


def check_firefox(c, mode, m, loads, conns, decisions):
    tag = "firefox/" + mode
    bad = [h for h in m["handshake_failures"] if not client_closed(h)]
    c.expect("%s: every failed handshake is one the client closed" % tag, not bad, "; ".join(bad))
    admin_recovers(c, tag, loads)
    if mode == "origin":
        c.expect("%s: zero 421s" % tag, m["n421"] == 0,
                 "; ".join(d["text"] for d in decisions if d["status"] == 421))
        outside = []
        for d in decisions:
            host = serverlog.host_only(d.get("host", "-"))
            if d.get("sni") == host:
                continue
            origins = conns.origin_set(d) or []
            if not any(serverlog.host_only(o.split("://", 1)[-1]) == host for o in origins):
                outside.append(d["text"])
        c.expect("%s: every coalesced request's host is in its connection's ORIGIN frame" % tag,
                 not outside, "; ".join(outside))
        c.expect("%s: blog and example.com coalesced, nothing else" % tag,
                 m["coalesced"] == ["blog.example.com", "example.com"], str(m["coalesced"]))
    else:
        # The control: without the frame Firefox coalesces admin onto a
        # sibling's connection by IP and certificate, gets 421, and retries.
        admin421 = [d for ld in loads if ld["host"] == "admin.example.com"
                    for d in ld["decisions"] if d["status"] == 421]
        c.expect("%s: admin coalesced and refused with 421 policy-mismatch" % tag,
                 len(admin421) > 0 and all(d.get("sni") != "admin.example.com" for d in admin421),
                 "; ".join(d["text"] for d in admin421) or "no 421 for admin")
        c.expect("%s: every load refused with 421 was retried and served" % tag,
                 m["retried"] == m["loads_421"],
                 "%d of %d retried" % (m["retried"], m["loads_421"]))


def check_chromium(c, mode, m, loads, conns, decisions):
    tag = "chromium/" + mode
    bad = [h for h in m["handshake_failures"] if not client_closed(h)]
    c.expect("%s: every failed handshake is one the client closed" % tag, not bad, "; ".join(bad))
    admin_recovers(c, tag, loads)
    apps421 = [d["text"] for d in decisions if d["status"] == 421 and
               serverlog.host_only(d.get("host", "-")) == "x.apps.example.com"]
    c.expect("%s: no 421 for x.apps (rule 7: the origin set is advisory)" % tag, not apps421,
             "; ".join(apps421))
    admin421 = [d for ld in loads if ld["host"] == "admin.example.com"
                for d in ld["decisions"] if d["status"] == 421]
    c.expect("%s: admin sent on a sibling's connection and refused: 421 policy-mismatch" % tag,
             len(admin421) > 0 and all(d.get("sni") != "admin.example.com" for d in admin421),
             "; ".join(d["text"] for d in admin421) or "no 421 for admin")
    other = [d["text"] for d in decisions if d["status"] == 421 and
             serverlog.host_only(d.get("host", "-")) not in ("admin.example.com",
                                                             "x.apps.example.com")]
    c.expect("%s: no other 421" % tag, not other, "; ".join(other))


# ------------------------------------------------------------------ main --

def run_mode(args, work, pki, vhosts, mode, c):
    d = os.path.join(work, mode)
    os.makedirs(d)
    log = os.path.join(d, "server.log")
    server = start_server(args.server, vhosts, log, mode == "control")
    run_id = "%s-%s-%d" % (args.browser, mode, os.getpid())
    url = "https://www.example.com/page?run=" + run_id
    t0 = time.monotonic()
    try:
        if args.browser == "firefox":
            import firefox
            value, blog = firefox.run_page(d, pki, url, page_script(run_id), BROWSER_TIMEOUT,
                                           os.path.join(d, "moz.log"))
        else:
            import chromium
            value, blog = chromium.run_page(d, pki, url, page_script(run_id), BROWSER_TIMEOUT,
                                            os.path.join(d, "netlog.json"))
    finally:
        # The ASan build's exit (leak check included) once took over 5 s on a
        # host busy with other builds: wait longer before SIGKILL, which would
        # fail the exit-status check below for no fault of the server.
        status = server.stop(grace=30.0)
    secs = time.monotonic() - t0
    page = json.loads(value) if isinstance(value, str) else []
    events = serverlog.parse(log)
    m, loads, conns, decisions = analyse(events, page)
    tag = "%s/%s" % (args.browser, mode)
    print("--- %s: %.1f s, %d connections (%s), used %s, coalesced %s, 421s %d %s, retried %d,"
          " %d failed handshakes" % (
              tag, secs, m["connections"], ",".join(m["connection_snis"]), m["snis_used"],
              m["coalesced"], m["n421"], m["misdirected"], m["retried"],
              len(m["handshake_failures"])))
    c.expect("%s: server exit status after SIGTERM" % tag, status == 0, str(status))
    with open(log + ".stderr", errors="replace") as f:
        reports = [l for l in f if "Sanitizer" in l or "runtime error" in l]
    c.expect("%s: server stderr free of sanitizer reports" % tag, not reports, "".join(reports[:5]))
    check_common(c, tag, m, loads, page)
    check = check_firefox if args.browser == "firefox" else check_chromium
    check(c, mode, m, loads, conns, decisions)
    if c.failed:
        print("--- server log (%s) ---" % tag)
        sys.stdout.write(open(log).read())
    return m


def on_sigterm(sig, frame):
    raise SystemExit("stopped by signal %d" % sig)  # runs the finally: blocks


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    ap = argparse.ArgumentParser()
    ap.add_argument("--browser", choices=sorted(BROWSER_BIN), required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--e2e-lib", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, profiles)")
    args = ap.parse_args()

    if not in_namespaces() and os.path.exists(args.result):
        os.unlink(args.result)  # never leave an earlier run's figures for the table
    exe = BROWSER_BIN[args.browser]
    if not shutil.which(exe):
        skip("%s is not installed (Debian: %s)" % (exe, "firefox-esr" if args.browser == "firefox"
                                                    else "chromium"))
    require_tools()
    if not os.access(args.server, os.X_OK):
        print("no server binary '%s'" % args.server)
        return 1
    if not in_namespaces():
        enter_namespaces([os.path.abspath(__file__)] + sys.argv[1:])

    work = tempfile.mkdtemp(prefix="misdirect-browser-%s." % args.browser)
    c = Checks()
    results = {"browser": args.browser, "version": browser_version(exe)}
    try:
        setup_namespaces(work)
        pki = os.path.join(work, "pki")
        vhosts = make_pki(args.e2e_lib, pki)
        for mode in ("origin", "control"):
            results[mode] = run_mode(args, work, pki, vhosts, mode, c)
    except Exception as e:  # a harness failure is a test failure, with its cause
        c.expect("harness: %s" % e, False)
    finally:
        if args.keep or c.failed:
            print("work folder kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, c.failed))
    if c.failed:
        return 1
    with open(args.result, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    return 0


def browser_version(exe):
    try:
        out = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=20, env=dict(os.environ, HOME=tempfile.gettempdir())).stdout
        return out.decode(errors="replace").strip().splitlines()[-1]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
