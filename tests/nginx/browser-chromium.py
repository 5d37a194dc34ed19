#!/usr/bin/env python3
"""Headless Chromium against Debian's nginx with the misdirect module
(ctest nginx.browser-chromium, labels nginx and browser).

  browser-chromium.py --module SO --e2e-lib FILE [--keep]

nginx serves the demo table's equivalent as server{} blocks, with
`misdirect on;`: www (the default), blog, admin (ssl_verify_client on),
*.apps and a 308 from example.com to www on one certificate, other.org on
its own; and tls13.apps, which differs from www only by allowing TLS 1.3
alone.  The page on www makes the ten credentialed loads of the browser
tests (tests/browser/harness.py) and one to tls13.apps.  Chromium
coalesces by IP and certificate, so it sends admin's and tls13's requests
on www's connection: they are refused with 421 (tls13's by the module,
policy-mismatch; admin's by nginx itself, see REFUSED_EARLY) and Chromium
must recover on a connection of each name's own, admin's with the client
certificate.  x.apps has the same certificate and policy as www and must
be served where it lands.

The assertions read only nginx's access log (and the page's own results):
each line carries the connection ($connection), the SNI, the Host, the
status and the decision's reason.  Everything runs in network and mount
namespaces of its own with only loopback (tests/browser/harness.py), so
nginx listens on 443 and 80.

Exit 0 = pass, 1 = fail, 77 = skipped (Chromium or a tool is missing).
"""
import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import harness  # noqa: E402
from harness import LOADS, NAMES, Checks, load_target, page_problems  # noqa: E402
from procs import Proc, wait_until  # noqa: E402

NGINX = "/usr/sbin/nginx"
CHROMIUM = "/usr/lib/chromium/chromium"
BROWSER_TIMEOUT = 60  # seconds, Chromium's start to quit
ADMIN = "admin.example.com"
APPS = "x.apps.example.com"
# A vhost that only allows TLS 1.3: another TLS policy, which nginx does not
# check per Host itself (unlike ssl_verify_client, see REFUSED_EARLY), so a
# request for it on a sibling's connection is the module's to refuse.
TLS13 = "tls13.apps.example.com"
# The browser tests' ten loads, and one for TLS13 (its certificate is the
# shared one: *.apps).
PAGE_LOADS = LOADS + [("fetch", TLS13)]
PAGE_NAMES = NAMES + [TLS13]

# One access log line per request, as key=value (nginx writes "-" for an
# empty value).  $connection is nginx's connection serial number.
LOG_FORMAT = ("conn=$connection sni=$ssl_server_name host=$host proto=$server_protocol "
              "uri=$request_uri status=$status reason=$misdirect_reason vhost=$misdirect_vhost "
              "verify=$ssl_client_verify")

# REFUSED_EARLY: nginx 1.22 refuses by itself (421, "client attempted to
# request the server name different from the one that was negotiated") an
# HTTP/2 request whose :authority names a server{} with ssl_verify_client
# on, when the connection's SNI named another: while it reads the headers
# (measured: its log line has no URI), so before the module's POST_READ
# handler.
# Chromium sends admin's requests on www's connection, so admin's 421 is
# usually nginx's own, logged without uri or decision.  The module decides
# the other direction (SNI admin, Host a sibling: policy-mismatch); see the
# table in docs/nginx.md.  Either refusal is accepted for admin.

PAGE = "<!doctype html><title>misdirect nginx browser test</title><p>page</p>"


def mapped_root():
    """True in a user namespace (unshare -r: we are root only inside it)."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def nginx_conf(d, pki, so):
    tls = "listen 127.0.0.1:443 ssl http2"
    # As root nginx's workers switch to `user` (nobody by default); in a user
    # namespace no other user exists, so they stay who we are.
    user = "user root root;" if mapped_root() else ""
    return """load_module %(so)s;
%(user)s
daemon off;
worker_processes 1;
error_log %(d)s/logs/error.log info;
pid %(d)s/logs/nginx.pid;
events { worker_connections 256; }
http {
    misdirect on;
    log_format browser '%(fmt)s';
    access_log %(d)s/logs/access.log browser;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    default_type text/plain;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate %(pki)s/site.pem;
    ssl_certificate_key %(pki)s/site.key;

    server {
        %(tls)s default_server;
        listen 127.0.0.1:80;
        server_name www.example.com;
        location = /page { default_type text/html; return 200 "%(page)s"; }
        location / { return 200 "www\\n"; }
    }
    server {
        %(tls)s;
        server_name example.com;
        return 308 https://www.example.com$request_uri;
    }
    server {
        %(tls)s;
        server_name blog.example.com;
        return 200 "blog\\n";
    }
    server {
        %(tls)s;
        server_name admin.example.com;
        ssl_verify_client on;
        ssl_client_certificate %(pki)s/client-ca.pem;
        return 200 "admin\\n";
    }
    server {
        %(tls)s;
        server_name *.apps.example.com;
        return 200 "apps\\n";
    }
    server {
        %(tls)s;
        server_name %(tls13)s;
        ssl_protocols TLSv1.3;
        return 200 "tls13\n";
    }
    server {
        %(tls)s;
        listen 127.0.0.1:80;
        server_name other.org;
        ssl_certificate %(pki)s/other.pem;
        ssl_certificate_key %(pki)s/other.key;
        return 200 "other\\n";
    }
}
""" % {"so": so, "d": d, "pki": pki, "fmt": LOG_FORMAT, "tls": tls, "page": PAGE,
       "tls13": TLS13, "user": user}


def start_nginx(so, d, pki):
    """nginx in the foreground under Proc (its own process group, bounded);
    ready once it has written its pid file, which it does after binding
    every listener (no probing connection: it would show in the log)."""
    for sub in ("logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, pki, so))
    pidfile = os.path.join(d, "logs", "nginx.pid")
    stderr = os.path.join(d, "logs", "stderr.log")
    p = Proc([NGINX, "-p", d, "-c", conf, "-e", os.path.join(d, "logs", "error.log")], stderr,
             limit=BROWSER_TIMEOUT + 30)
    if not wait_until(lambda: not p.alive() or os.path.exists(pidfile), 10):
        p.stop()
        raise RuntimeError("nginx did not start")
    if not p.alive():
        p.stop()
        raise RuntimeError("nginx exited: %s%s" % (read(stderr), read(os.path.join(d, "logs",
                                                                                   "error.log"))))
    return p


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


_KV = re.compile(r"([a-z]+)=(\S*)")


def parse_access_log(path):
    """One dict per request, in log order (the order requests finished)."""
    out = []
    for n, line in enumerate(read(path).splitlines(), 1):
        r = dict(_KV.findall(line))
        if "status" not in r or "conn" not in r:
            continue
        r["status"] = int(r["status"]) if r["status"].isdigit() else -1
        r["path"] = r.get("uri", "-").split("?")[0]
        r["line"] = n
        r["text"] = line
        out.append(r)
    return out


def attribute(reqs):
    """The page's loads with their requests, in log order.  A request nginx
    refused before reading its path (see REFUSED_EARLY) has no uri in the
    log: it belongs to the load whose request is logged next, since the page
    makes its loads one after another and each refusal is logged before
    Chromium retries."""
    targets = [load_target(i, kind, host) for i, (kind, host) in enumerate(PAGE_LOADS)]
    loads = [{"i": i, "kind": kind, "host": host, "reqs": []}
             for i, (kind, host) in enumerate(PAGE_LOADS)]
    pending = []
    for r in reqs:
        if r["path"] in targets:
            loads[targets.index(r["path"])]["reqs"].extend(pending + [r])
            pending = []
        elif r["path"] == "-":
            pending.append(r)
    return loads, pending


def check(c, reqs, page):
    loads, unattributed = attribute(reqs)
    c.expect("every request without a path is followed by a load", not unattributed,
             "; ".join(r["text"] for r in unattributed))
    conns = {}  # connection id -> its SNI
    for r in reqs:
        conns.setdefault(r["conn"], set()).add(r["sni"])
    fetch_errors, timeouts = page_problems(page)
    n421 = [r for r in reqs if r["status"] == 421]
    print("--- nginx/chromium: %d connections carried requests (%s), %d requests, 421s: %s" % (
        len(conns), ", ".join("%s:%s" % (k, ",".join(sorted(v))) for k, v in sorted(conns.items())),
        len(reqs), "; ".join("%s on %s (%s)" % (r["host"], r["sni"], r["reason"]) for r in n421)
        or "none"))

    c.expect("the page reported every load", len(page) == len(PAGE_LOADS),
             "got %d results" % len(page))
    c.expect("the page saw no fetch error", not fetch_errors, json.dumps(fetch_errors))
    c.expect("no load timed out in the page", not timeouts, json.dumps(timeouts))
    mixed = {k: sorted(v) for k, v in conns.items() if len(v) != 1}
    c.expect("the access log shows one SNI per connection", not mixed, str(mixed))
    h1 = [r["text"] for r in reqs if r["proto"] != "HTTP/2.0"]
    c.expect("every request came over HTTP/2 (what lets Chromium coalesce)", not h1,
             "; ".join(h1))
    stray = sorted({r["sni"] for r in reqs} - set(PAGE_NAMES))
    c.expect("every connection's SNI is a name of the page (nothing stray)", not stray, str(stray))
    undecided = [r["text"] for r in reqs if r["reason"] == "-" and not refused_early(r)]
    c.expect("every request was decided by the module (but nginx's own early 421s)",
             not undecided, "; ".join(undecided))
    for ld in loads:
        rs = ld["reqs"]
        c.expect("%s %s ends in 200" % (ld["kind"], ld["host"]),
                 bool(rs) and rs[-1]["status"] == 200, "; ".join(r["text"] for r in rs) or "never reached nginx")
        odd = [r["text"] for r in rs if r["status"] not in (200, 421) and
               not (r["status"] == 308 and ld["host"] == "example.com")]
        c.expect("%s %s: no status but 200, 421 (and example.com's 308)" % (ld["kind"], ld["host"]),
                 not odd, "; ".join(odd))

    # admin: refused where coalesced, then served on a connection of its own.
    admin = [ld for ld in loads if ld["host"] == ADMIN]
    refused = [r for ld in admin for r in ld["reqs"] if r["status"] == 421]
    c.expect("admin coalesced onto another name's connection: 421 (policy-mismatch, or"
             " nginx's own refusal first)",
             bool(refused) and all(r["sni"] != ADMIN and r["sni"] in PAGE_NAMES and
                                   ((r["reason"] == "policy-mismatch" and r["host"] == ADMIN) or
                                    refused_early(r)) for r in refused),
             "; ".join(r["text"] for r in refused) or "no 421 for admin")
    for ld in admin:
        rs = ld["reqs"]
        for k, r in enumerate(rs):
            if r["status"] != 421:
                continue
            later = [s for s in rs[k + 1:] if s["status"] == 200]
            c.expect("%s admin: the 421 on %s's connection %s is followed by a 200 on admin's own"
                     " connection with the client certificate" % (ld["kind"], r["sni"], r["conn"]),
                     bool(later) and all(s["sni"] == ADMIN and s["conn"] != r["conn"] and
                                         s["verify"] == "SUCCESS" for s in later),
                     "; ".join(s["text"] for s in rs))
        served = [r for r in rs if r["status"] == 200]
        c.expect("%s admin: served only with SNI admin and a verified client certificate" %
                 ld["kind"], bool(served) and all(r["sni"] == ADMIN and r["verify"] == "SUCCESS"
                                                  for r in served),
                 "; ".join(r["text"] for r in rs))

    apps = [r for ld in loads if ld["host"] == APPS for r in ld["reqs"]]
    c.expect("x.apps served without a 421", bool(apps) and all(r["status"] == 200 for r in apps),
             "; ".join(r["text"] for r in apps) or "never reached nginx")
    # TLS13: the module's own 421, then the same recovery.
    t13 = [ld for ld in loads if ld["host"] == TLS13]
    refused13 = [r for ld in t13 for r in ld["reqs"] if r["status"] == 421]
    c.expect("tls13 coalesced onto another name's connection: the module's 421 policy-mismatch",
             bool(refused13) and all(r["reason"] == "policy-mismatch" and r["host"] == TLS13 and
                                     r["sni"] != TLS13 and r["sni"] in PAGE_NAMES
                                     for r in refused13),
             "; ".join(r["text"] for ld in t13 for r in ld["reqs"]) or "no 421 for tls13")
    for ld in t13:
        rs = ld["reqs"]
        for k, r in enumerate(rs):
            if r["status"] != 421:
                continue
            later = [s for s in rs[k + 1:] if s["status"] == 200]
            c.expect("%s tls13: the 421 on %s's connection %s is followed by a 200 on tls13's own"
                     " connection" % (ld["kind"], r["sni"], r["conn"]),
                     bool(later) and all(s["sni"] == TLS13 and s["conn"] != r["conn"] and
                                         s["reason"] == "serve" for s in later),
                     "; ".join(s["text"] for s in rs))

    other = [r["text"] for ld in loads if ld["host"] not in (ADMIN, TLS13) for r in ld["reqs"]
             if r["status"] == 421]
    c.expect("no 421 but admin's and tls13's", not other, "; ".join(other))
    return {"connections": len(conns), "requests": len(reqs), "n421": len(n421),
            "n421_nginx": sum(1 for r in refused if refused_early(r)),
            "apps_coalesced": any(r["sni"] != APPS for r in apps)}


def refused_early(r):
    """nginx's own 421 (REFUSED_EARLY): no path, no decision."""
    return r["status"] == 421 and r["path"] == "-" and r["reason"] == "-"


def run(args, work, c):
    harness.setup_namespaces(work, PAGE_NAMES)
    pki = os.path.join(work, "pki")
    harness.make_pki(args.e2e_lib, pki)
    d = os.path.join(work, "nginx")
    nginx = start_nginx(os.path.abspath(args.module), d, pki)
    run_id = "nginx-chromium-%d" % os.getpid()
    import chromium
    t0 = time.monotonic()
    value = None
    try:
        value, _ = chromium.run_page(work, pki, "https://www.example.com/page?run=" + run_id,
                                     harness.page_script(run_id, PAGE_LOADS), BROWSER_TIMEOUT,
                                     os.path.join(work, "netlog.json"))
    finally:
        status = nginx.stop()
    secs = time.monotonic() - t0
    page = json.loads(value) if isinstance(value, str) else []
    print("--- chromium run: %.1f s" % secs)
    c.expect("nginx exit status after SIGTERM", status == 0, str(status))
    m = check(c, parse_access_log(os.path.join(d, "logs", "access.log")), page)
    print("--- %d connections, %d requests, %d 421s (%d by nginx itself), x.apps %s" % (
        m["connections"], m["requests"], m["n421"], m["n421_nginx"],
        "coalesced" if m["apps_coalesced"] else "on its own connection"))
    if c.failed:
        for name in ("access.log", "error.log"):
            print("--- nginx %s ---" % name)
            sys.stdout.write(read(os.path.join(d, "logs", name)))


def on_sigterm(sig, frame):
    raise SystemExit("stopped by signal %d" % sig)  # runs the finally: blocks


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True, help="ngx_http_misdirect_module.so")
    ap.add_argument("--e2e-lib", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, profile)")
    args = ap.parse_args()

    if not shutil.which(CHROMIUM):
        harness.skip("%s is not installed (Debian: chromium)" % CHROMIUM)
    harness.require_tools()
    for f, what in ((NGINX, "nginx"), (args.module, "the module (test nginx.build)")):
        if not os.path.exists(f):
            print("missing %s: %s" % (what, f))
            return 1
    if not harness.in_namespaces():
        harness.enter_namespaces([os.path.abspath(__file__)] + sys.argv[1:])

    work = tempfile.mkdtemp(prefix="misdirect-nginx-chromium.")
    c = Checks()
    try:
        run(args, work, c)
    except Exception as e:  # a harness failure is a test failure, with its cause
        c.expect("harness: %s" % e, False)
    finally:
        if args.keep or c.failed:
            print("work folder kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
