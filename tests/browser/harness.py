"""What every browser test shares, whatever the server: the namespaces, the
throwaway PKI, the page with its ten credentialed loads, and the checks.

Used by tests/browser/browser_test.py (misdirect-server) and
tests/nginx/browser-chromium.py (nginx with the module).
"""
import json
import os
import shutil
import subprocess
import sys

# Every name the page loads from; the private /etc/hosts maps them to 127.0.0.1.
NAMES = ["example.com", "www.example.com", "blog.example.com", "admin.example.com",
         "x.apps.example.com", "other.org"]
# The ten loads of the page: (kind, host).
LOADS = [("img", "blog.example.com"), ("fetch", "blog.example.com"),
         ("img", "admin.example.com"), ("fetch", "admin.example.com"),
         ("img", "other.org"), ("fetch", "other.org"),
         ("img", "x.apps.example.com"), ("fetch", "x.apps.example.com"),
         ("fetch", "example.com"), ("script", "www.example.com")]
NS_ENV = "MDR_BROWSER_NS"  # set inside the namespaces


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


# ------------------------------------------------------------- namespaces --

def in_namespaces():
    return os.environ.get(NS_ENV) == "1"


def enter_namespaces(argv):
    """Re-run `argv` (this script and its arguments) with this Python inside
    new network and mount namespaces; never returns."""
    for tool in ("unshare", "ip", "mount"):
        if not shutil.which(tool):
            skip("'%s' is not installed (Debian: util-linux, iproute2)" % tool)
    ns = ["unshare", "-n", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-n", "-m"]
    env = dict(os.environ, **{NS_ENV: "1"})
    probe = subprocess.run(ns + ["true"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    if probe.returncode != 0:
        skip("cannot create network and mount namespaces (%s)" % " ".join(ns))
    # exec: the namespaces die with this process tree.
    os.execvpe(ns[0], ns + [sys.executable] + argv, env)


def setup_namespaces(work, names=NAMES):
    """Inside the namespaces: loopback up, private /etc/hosts."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    # glibc's getaddrinfo(AI_ADDRCONFIG), which Firefox uses, returns no IPv4
    # address unless an interface has an IPv4 address other than 127.0.0.1:
    # give lo a second loopback address.
    subprocess.run(["ip", "addr", "add", "127.0.0.2/32", "dev", "lo"], check=True, timeout=10)
    hosts = os.path.join(work, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.1 %s\n" % " ".join(names))
    subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True, timeout=10)


# -------------------------------------------------------------------- PKI --

def make_pki(e2e_lib, d, shell_after=""):
    """The e2e tests' throwaway PKI (tests/e2e/e2e-lib.sh: e2e_pki) in `d`,
    then `shell_after` (more e2e-lib.sh commands, "$1" is `d`), and the
    client certificate as PKCS#12 (client.p12) for the browsers."""
    sh = 'source "$0" && e2e_pki "$1"' + (" && " + shell_after if shell_after else "")
    subprocess.run(["bash", "-c", sh, e2e_lib, d], check=True, timeout=60)
    subprocess.run(["openssl", "pkcs12", "-export", "-in", os.path.join(d, "client.pem"),
                    "-inkey", os.path.join(d, "client.key"), "-name", "misdirect client",
                    "-out", os.path.join(d, "client.p12"), "-passout", "pass:"],
                   check=True, timeout=30, stdout=subprocess.DEVNULL)


def require_tools():
    for tool in ("certutil", "pk12util", "openssl", "bash"):
        if not shutil.which(tool):
            skip("'%s' is not installed (Debian: libnss3-tools, openssl, bash)" % tool)


# -------------------------------------------------------------------- page --

def load_target(i, kind, host):
    """The path of load i: the server's log ties each request to its load."""
    return "/load/%d-%s-%s" % (i, kind, host)


def page_script(run, loads=LOADS):
    """A JS expression: a promise of one result per load ((kind, host)
    pairs; kind is img, fetch or script)."""
    loads = json.dumps(loads)
    return """(async () => {
  const loads = %s;
  const one = (i, kind, host) => {
    const url = `https://${host}/load/${i}-${kind}-${host}?run=%s`;
    const res = (r) => Object.assign({i, kind, host}, r);
    if (kind === 'fetch')
      return fetch(url, {credentials: 'include', mode: 'no-cors', cache: 'no-store'})
        .then(r => res({ok: true, type: r.type}), e => res({ok: false, error: String(e)}));
    return new Promise(done => {
      const el = document.createElement(kind);
      const t = setTimeout(() => done(res({ok: false, error: 'timeout'})), 15000);
      el.onload = () => { clearTimeout(t); done(res({ok: true, event: 'load'})); };
      el.onerror = () => { clearTimeout(t); done(res({ok: true, event: 'error'})); };
      el.src = url;
      document.documentElement.appendChild(el);
    });
  };
  // One after another: each load either finds a connection to reuse or
  // opens one, with no race between loads for the same new name.
  const out = [];
  for (const [i, [k, h]] of loads.entries()) out.push(await one(i, k, h));
  return JSON.stringify(out);
})()""" % (loads, run)


def page_problems(page):
    """(fetch errors, loads that timed out) among the page's results."""
    return ([r for r in page if r.get("kind") == "fetch" and not r.get("ok")],
            [r for r in page if r.get("error") == "timeout"])


# --------------------------------------------------------------- checks --

class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def expect(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok     " + what)
        else:
            self.failed += 1
            print("FAIL   " + what + (("\n       " + detail) if detail else ""))
