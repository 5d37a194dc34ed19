#!/usr/bin/env python3
"""A TLS client that hangs up mid-handshake, as a browser does when its user
cancels the client-certificate prompt: it reads the server's whole first
flight (with the CertificateRequest), then closes the TCP connection instead
of answering.  Usage: tls-hangup.py PORT SNI CA_FILE [1.2|1.3]
Exit 0 once it has hung up at that point; 1 if the server closed first."""
import socket
import ssl
import sys
import time

port, sni, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
if len(sys.argv) > 4:
    v = ssl.TLSVersion.TLSv1_2 if sys.argv[4] == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname=sni)
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
sock.sendall(out.read())  # the ClientHello
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    data = sock.recv(65536)
    if not data:
        print("the server closed the connection first")
        sys.exit(1)
    inc.write(data)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    if out.pending:  # the client's answer is ready: the server's flight is complete
        break
else:
    print("no complete server flight within 5 s")
    sys.exit(1)
sock.close()  # hang up without sending the answer
print("hung up after the server's flight")
