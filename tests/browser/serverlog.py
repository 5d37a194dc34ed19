"""Reading misdirect-server's log (examples/server): the only evidence the
browser tests assert on.  Browsers' own logs change format between
releases; ours is the contract.

Lines used (other fields, such as a connection id, are kept if present):
  origin listener=L sni=S frames=N origins=M set=O1,O2|-      one per HTTP/2 TLS connection
  decision listener=L proto=P sni=S ... target=T host=H -> STATUS vhost=V request-vhost=R reason=X
  handshake listener=L -> ...                                  a refused or failed handshake
"""
import re

_KV = re.compile(r"([a-z][a-z-]*)=(\S*)")


def _fields(text):
    return {k: v for k, v in _KV.findall(text)}


def parse(path):
    """Events in log order: dicts with 'kind' and the line's fields."""
    events = []
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) < 3:
                continue
            kind, rest = parts[1], parts[2]
            ev = {"kind": kind, "line": n, "text": line.rstrip("\n")}
            if kind == "decision":
                left, _, right = rest.partition(" -> ")
                ev.update(_fields(left))
                m = re.match(r"(\d+)\s*(.*)", right)
                if not m:
                    continue
                ev["status"] = int(m.group(1))
                ev.update(_fields(m.group(2)))
            elif kind == "origin":
                ev.update(_fields(rest))
                s = ev.get("set", "-")
                ev["origins"] = [] if s in ("-", "") else s.split(",")
            elif kind in ("handshake", "refused"):
                ev.update(_fields(rest))
            else:
                continue
            events.append(ev)
    return events


def host_only(authority):
    """'www.example.com:443' -> 'www.example.com' (the log keeps what was sent)."""
    if authority.startswith("["):
        return authority.split("]")[0] + "]"
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


class Connections:
    """The connections the log shows, keyed by connection id when the server
    logs one, otherwise by SNI (every connection with one SNI has the same
    origin set: the set is computed per SNI)."""

    def __init__(self, events):
        self.by_key = {}
        self.count = 0
        self.snis = []
        for ev in events:
            if ev["kind"] == "origin":
                self.count += 1
                self.snis.append(ev.get("sni", "-"))
                self.by_key[self.key(ev)] = ev

    @staticmethod
    def key(ev):
        cid = ev.get("conn") or ev.get("id")
        return ("conn", cid) if cid else ("sni", ev.get("sni", "-"))

    def origin_set(self, decision):
        ev = self.by_key.get(self.key(decision))
        return None if ev is None else ev["origins"]
