#!/usr/bin/env bash
# e2e: one client's abrupt close must not break another connection.
# A peer that closes without close_notify leaves "unexpected eof" in
# OpenSSL's per-thread error queue; unless the server clears the queue
# before each SSL_* call, SSL_get_error() then reports SSL_ERROR_SSL for
# the next connection's ordinary WANT_READ and that connection is dropped.
# (Found by the browser tests: Chromium closes connections that way.)
#   A: handshake, then half a request
#   B: handshake, then close without close_notify
#   A: the rest of the request -> must be answered 200
# Usage: tls-error-queue.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require python3 openssl
e2e_setup "$1"
got=$(timeout 30 python3 - "$E2E_TLS" "$E2E_DIR/ca.pem" <<'PY'
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
def connect():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="www.example.com")
    return s
a = connect()
a.sendall(b"GET /a HTTP/1.1\r\nHost: www.example.com:%d\r\n" % port)  # not the whole head yet
time.sleep(0.3)
b = connect()
b.sendall(b"GET /b HTTP/1.1\r\n")  # the server reads B, then B vanishes
time.sleep(0.3)
b.shutdown(socket.SHUT_WR)           # a FIN without close_notify
time.sleep(0.5)                      # the server has seen B's EOF
a.sendall(b"X-Filler: 1\r\n")        # A: readable, then WANT_READ again
time.sleep(0.3)
try:
    a.sendall(b"\r\n")
    print(a.recv(4096).split(b"\r\n", 1)[0].decode() or "closed")
except OSError as e:
    print("error: %s" % e.__class__.__name__)
b.close()
PY
)
e2e_expect "the other connection is answered" "HTTP/1.1 200 OK" "$got"
e2e_finish
