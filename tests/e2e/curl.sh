#!/usr/bin/env bash
# e2e: curl over HTTP/1.1 and HTTP/2 against misdirect-server, with SNI and
# Host split by --resolve, --connect-to and -H Host; failed handshakes and
# how the server logs them.  Usage: curl.sh SERVER TLS_HANGUP
# (TLS_HANGUP: the tls_hangup client built from tests/e2e/tls_hangup.c)
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require curl openssl
HANGUP=${2:?usage: curl.sh SERVER TLS_HANGUP}
[[ -x $HANGUP ]] || { echo "no tls_hangup binary '$HANGUP'" >&2; exit 1; }
e2e_setup "$1"
T=$E2E_TLS P=$E2E_PLAIN
R=(--resolve "www.example.com:$T:127.0.0.1" --resolve "blog.example.com:$T:127.0.0.1"
   --resolve "admin.example.com:$T:127.0.0.1" --resolve "other.org:$T:127.0.0.1"
   --resolve "nope.example:$T:127.0.0.1")

e2e_expect "h1 SNI=Host=www" "200 serve" "$(e2e_curl "${R[@]}" --http1.1 "https://www.example.com:$T/")"
e2e_expect "h1 body names the vhost" "served by vhost home (serve)" "$(cat "$E2E_DIR/body")"
e2e_expect "h2 SNI=Host=blog" "200 serve" "$(e2e_curl "${R[@]}" --http2 "https://blog.example.com:$T/")"
e2e_expect "h2 negotiated" "HTTP/2 200" "$(head -1 "$E2E_DIR/headers" | tr -d '\r' | sed 's/ *$//')"
e2e_expect "h2 coalescing allowed: SNI www, :authority blog" "200 serve-coalesced" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: blog.example.com:$T" "https://www.example.com:$T/")"
e2e_expect "h2 coalescing refused: SNI blog, :authority admin (client-cert vhost)" "421 policy-mismatch" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: admin.example.com:$T" "https://blog.example.com:$T/")"
e2e_expect "421 body: status line and reason token only" \
  "421 Misdirected Request (policy-mismatch): " "$(sed 's/policy-mismatch): .*/policy-mismatch): /' "$E2E_DIR/body")"
e2e_expect "421 body names no vhost, policy or file" "no" \
  "$(grep -qiE "admin|blog|staff|client-auth|\.pem" "$E2E_DIR/body" && echo yes || echo no)"
e2e_expect "the log explains the 421 (names the client-cert policy)" "yes" \
  "$(grep -E " explain conn=[0-9]+ " "$E2E_DIR/server.log" | grep "client-auth=required" >/dev/null && echo yes || echo no)"
e2e_expect "h1 SNI blog, Host admin" "421 policy-mismatch" \
  "$(e2e_curl "${R[@]}" --http1.1 -H "Host: admin.example.com:$T" "https://blog.example.com:$T/")"
e2e_expect "h1 421 closes the connection" "close" "$(e2e_header connection)"
e2e_expect "h2 SNI www, :authority other.org (other certificate)" "421 cert-not-covering" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: other.org:$T" "https://www.example.com:$T/")"
e2e_expect "admin with its own SNI and a client certificate" "200 serve" \
  "$(e2e_curl "${R[@]}" --cert "$E2E_DIR/client.pem" --key "$E2E_DIR/client.key" "https://admin.example.com:$T/")"
# TLS 1.3: the server's alert may arrive after curl considers the handshake
# done, so curl reports 35, 56 or 16 (HTTP/2 framing) depending on timing.
e2e_expect "admin with its own SNI, no client certificate: handshake refused" "refused -" \
  "$(e2e_curl "${R[@]}" --tlsv1.3 "https://admin.example.com:$T/" | sed -E 's/^curl-exit-(16|35|56) /refused /')"
# TLS 1.3 names this alert certificate_required (0.2.0 logged "unknown_alert").
e2e_expect "server logged the missing client certificate, the alert by name" "1" \
  "$(grep -c 'handshake conn=[0-9]* listener=web -> alert certificate_required (.*peer did not return a certificate)' "$E2E_DIR/server.log")"
e2e_expect "TLS 1.2, no client certificate: handshake refused" "curl-exit-35 -" \
  "$(e2e_curl "${R[@]}" --tlsv1.2 --tls-max 1.2 "https://admin.example.com:$T/")"
e2e_expect "server logged TLS 1.2's alert by name" "1" \
  "$(grep -c 'handshake conn=[0-9]* listener=web -> alert handshake_failure (.*peer did not return a certificate)' "$E2E_DIR/server.log")"
# A client that hangs up when asked for a certificate (a browser whose user
# cancels the prompt): OpenSSL reports a decode_error, the log says what it is.
for v in 1.2 1.3; do
  e2e_expect "TLS $v client hangs up at the CertificateRequest" "hung up at the certificate request" \
    "$("$HANGUP" "$T" admin.example.com "$E2E_DIR/ca.pem" $v)"
done
for ((i = 0; i < 40; i++)); do # the server logs it when it reads the EOF
  (($(grep -c 'client closed the connection when asked' "$E2E_DIR/server.log") >= 2)) && break
  sleep 0.05
done
e2e_expect "server logged both hang-ups as what they are" "2" \
  "$(grep -c 'handshake conn=[0-9]* listener=web -> client closed the connection when asked for a client certificate$' "$E2E_DIR/server.log")"
e2e_expect "no hang-up logged as decode_error" "0" "$(grep -c 'decode_error' "$E2E_DIR/server.log")"
e2e_expect "a client that does not trust the certificate: refused" "curl-exit-60 -" \
  "$(curl -sS -m 5 --resolve "www.example.com:$T:127.0.0.1" -o /dev/null "https://www.example.com:$T/" 2>/dev/null || echo "curl-exit-$? -")"
for ((i = 0; i < 40; i++)); do
  grep -q 'client sent alert' "$E2E_DIR/server.log" && break
  sleep 0.05
done
e2e_expect "server logged the alert the client sent, by name" "1" \
  "$(grep -c 'handshake conn=[0-9]* listener=web -> client sent alert unknown_ca ' "$E2E_DIR/server.log")"
e2e_expect "--connect-to: SNI other.org over 127.0.0.1" "200 serve" \
  "$(e2e_curl --connect-to "other.org:$T:127.0.0.1:$T" "https://other.org:$T/")"
e2e_expect "--connect-to: SNI www, Host blog (h1)" "200 serve-coalesced" \
  "$(e2e_curl --http1.1 --connect-to "www.example.com:$T:127.0.0.1:$T" -H "Host: blog.example.com:$T" "https://www.example.com:$T/")"
# No SNI: curl sends none for an IP literal; the listener default (home) is used.
e2e_expect "no SNI, Host www (the default vhost)" "200 serve" \
  "$(e2e_curl -k --http1.1 -H "Host: www.example.com:$T" "https://127.0.0.1:$T/")"
e2e_expect "no SNI, Host admin (client-cert vhost)" "421 policy-mismatch" \
  "$(e2e_curl -k --http1.1 -H "Host: admin.example.com:$T" "https://127.0.0.1:$T/")"
e2e_expect "no SNI, h2, :authority blog" "200 serve-coalesced" \
  "$(e2e_curl -k --http2 -H "Host: blog.example.com:$T" "https://127.0.0.1:$T/")"
# A name under a wildcard: the ORIGIN set cannot list it, but on this
# sni-host=compatible listener the set is advisory (rule 7): same certificate
# and policy, so it is served coalesced over HTTP/1.1 and HTTP/2 alike.
e2e_expect "h1 SNI www, Host x.apps (wildcard sibling)" "200 serve-coalesced" \
  "$(e2e_curl "${R[@]}" --http1.1 -H "Host: x.apps.example.com:$T" "https://www.example.com:$T/")"
e2e_expect "h2 SNI www, :authority x.apps (not in the ORIGIN set: advisory)" "200 serve-coalesced" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: x.apps.example.com:$T" "https://www.example.com:$T/")"
e2e_expect "h2 SNI x.apps itself (the initial origin)" "200 serve" \
  "$(e2e_curl --resolve "x.apps.example.com:$T:127.0.0.1" --http2 "https://x.apps.example.com:$T/")"
e2e_expect "wrong port in Host" "421 wrong-port" \
  "$(e2e_curl "${R[@]}" --http1.1 -H "Host: www.example.com:1" "https://www.example.com:$T/")"
e2e_expect "unknown host" "421 unknown-host" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: nope.example.com:$T" "https://www.example.com:$T/")"
e2e_expect "unknown SNI: handshake refused" "curl-exit-35 -" "$(e2e_curl "${R[@]}" "https://nope.example:$T/")"
e2e_expect "unknown SNI logged with the core's reason" "1" \
  "$(grep -c 'handshake conn=[0-9]* listener=web -> alert unrecognized_name reason=sni-unknown' "$E2E_DIR/server.log")"
# Cleartext listener.
e2e_expect "http -> https redirect" "308 redirect-https" \
  "$(e2e_curl -H "Host: www.example.com:$P" "http://127.0.0.1:$P/login?next=%2F")"
e2e_expect "Location" "https://www.example.com:$T/login?next=%2F" "$(e2e_header location)"
e2e_expect "redirect alias over TLS" "308 redirect-alias" \
  "$(e2e_curl "${R[@]}" -H "Host: example.com:$T" "https://www.example.com:$T/docs")"
e2e_expect "alias Location" "https://www.example.com:$T/docs" "$(e2e_header location)"
e2e_expect "cleartext other.org served" "200 serve" "$(e2e_curl -H "Host: other.org:$P" "http://127.0.0.1:$P/")"
e2e_expect "h2c prior knowledge, other.org" "200 serve" \
  "$(e2e_curl --http2-prior-knowledge -H "Host: other.org:$P" "http://127.0.0.1:$P/")"
e2e_expect "h2c is HTTP/2" "HTTP/2 200" "$(head -1 "$E2E_DIR/headers" | tr -d '\r' | sed 's/ *$//')"
e2e_expect "malformed Host (percent-encoded)" "400 host-percent" \
  "$(e2e_curl -H "Host: www.exa%6dple.com" "http://127.0.0.1:$P/")"
e2e_expect "malformed Host (h2, comma)" "400 host-bad-char" \
  "$(e2e_curl "${R[@]}" --http2 -H "Host: a.example.com,b.example.com" "https://www.example.com:$T/")"
e2e_expect "one log line per decision" "$(grep -c ' decision ' "$E2E_DIR/server.log")" \
  "$(grep -c ' decision conn=[0-9]* listener=' "$E2E_DIR/server.log")"
# The connection id tells two connections with the same SNI apart (issue 15:
# a browser's preconnect), and groups the requests of one connection.
curl -sS -m 5 --cacert "$E2E_DIR/ca.pem" "${R[@]}" --http2 -o /dev/null -o /dev/null \
  "https://blog.example.com:$T/same-1" "https://blog.example.com:$T/same-2" 2>/dev/null
curl -sS -m 5 --cacert "$E2E_DIR/ca.pem" "${R[@]}" --http2 -o /dev/null \
  "https://blog.example.com:$T/other-1" 2>/dev/null
conn_of() { grep " decision .* target=$1 " "$E2E_DIR/server.log" | sed -n 's/.* decision conn=\([0-9]*\) .*/\1/p'; }
e2e_expect "two requests on one connection: one conn id" "$(conn_of /same-1)" "$(conn_of /same-2)"
e2e_expect "another connection, same SNI: another conn id" "yes" \
  "$([[ -n $(conn_of /same-1) && $(conn_of /same-1) != "$(conn_of /other-1)" ]] && echo yes || echo no)"
e2e_expect "the origin line carries the same conn id" "1" \
  "$(grep -c " origin conn=$(conn_of /other-1) listener=web sni=blog.example.com " "$E2E_DIR/server.log")"
e2e_finish
