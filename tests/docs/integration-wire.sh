#!/usr/bin/env bash
# The integration examples on the wire (docs/integration.md): start h1_server
# and h2_server on 127.0.0.1 with an ephemeral port, drive them with curl,
# check status, misdirect-reason and the log lines, stop them by PID.
#   integration-wire.sh H1_SERVER [H2_SERVER]
# Exit 77 (skipped) when curl or openssl is missing.
set -u
for c in curl openssl; do
  command -v "$c" >/dev/null 2>&1 || { echo "SKIP: '$c' is not installed"; exit 77; }
done
H1=$1 H2=${2:-}
source "${BASH_SOURCE[0]%/*}/../e2e/e2e-lib.sh"   # e2e_pki: throwaway CA, site/other/client certs

DIR=$(mktemp -d "${TMPDIR:-/tmp}/misdirect-docs.XXXXXX")
PID=
stop() {
  [[ -n $PID ]] || return 0
  kill -TERM "$PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$PID" 2>/dev/null || true
  STATUS=0
  wait "$PID" 2>/dev/null || STATUS=$?
  PID=
}
trap 'stop; rm -rf "$DIR"' EXIT
e2e_pki "$DIR" || exit 1
# basic.vhosts of the docs, with certificate files (names come from the SANs).
cat >"$DIR/site.vhosts" <<'VHOSTS'
listener web   https 443 default=home
listener plain http  80
cert site  file=site.pem  key=site.key
cert other file=other.pem key=other.key
policy staff client-auth=required ca-file=client-ca.pem
vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site http=redirect
vhost blog  listen=web       names=blog.example.com  cert=site
vhost admin listen=web       names=admin.example.com cert=site policy=staff
vhost other listen=web,plain names=other.org         cert=other
VHOSTS

FAILS=0 CHECKS=0
expect() { # WHAT EXPECTED ACTUAL
  CHECKS=$((CHECKS + 1))
  if [[ $2 == "$3" ]]; then printf 'ok     %s: %s\n' "$1" "$3"
  else printf 'FAIL   %s\n       expected: %s\n       got:      %s\n' "$1" "$2" "$3"; FAILS=$((FAILS + 1)); fi
}

# start BINARY LISTENER: start it on an ephemeral port; sets PID and PORT.
start() {
  : >"$DIR/out"
  "$1" "$DIR/site.vhosts" "$2" 0 >"$DIR/out" 2>"$DIR/log" </dev/null &
  PID=$!
  local i
  PORT=
  for ((i = 0; i < 100; i++)); do
    # Only a complete line (the file ends with its newline) names the port.
    [[ -s $DIR/out && -z $(tail -c 1 "$DIR/out") ]] &&
      PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$DIR/out")
    [[ -n $PORT ]] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "$1 did not start:"; cat "$DIR/out" "$DIR/log"
  exit 1
}

# req URL-HOST-PORT ARGS...: curl through --connect-to; prints "STATUS REASON".
req() {
  local hp=$1 code reason
  shift
  code=$(curl -sS -m 5 --cacert "$DIR/ca.pem" --connect-to "$hp:127.0.0.1:$PORT" \
    -o "$DIR/body" -D "$DIR/headers" -w '%{http_code}' "$@" 2>"$DIR/curl.err") || code="curl-exit-$?"
  reason=$(tr -d '\r' <"$DIR/headers" 2>/dev/null | sed -n 's/^misdirect-reason: *//Ip' | tail -1)
  echo "$code ${reason:--}"
}
header() { tr -d '\r' <"$DIR/headers" | sed -n "s/^$1: *//Ip" | tail -1; }

# ---------------------------------------------------------------- h1_server
start "$H1" web
expect "h1 SNI=Host=www" "200 serve" "$(req www.example.com:443 --http1.1 https://www.example.com/)"
expect "h1 body" "served by vhost home" "$(cat "$DIR/body")"
expect "h1 SNI www, Host blog (same cert and policy)" "200 serve-coalesced" \
  "$(req www.example.com:443 --http1.1 -H 'Host: blog.example.com' https://www.example.com/)"
expect "h1 SNI blog, Host admin (client-cert vhost)" "421 policy-mismatch" \
  "$(req blog.example.com:443 --http1.1 -H 'Host: admin.example.com' https://blog.example.com/)"
expect "421 closes the connection" "close" "$(header connection)"
expect "421 is not cached" "no-store" "$(header cache-control)"
expect "421 body: status, token, generic text" "421 Misdirected Request (policy-mismatch): " \
  "$(sed 's/policy-mismatch): .*/policy-mismatch): /' "$DIR/body")"
expect "log line: token, rule, causes, what differs, the specific explanation" "1" \
  "$(grep -c "^decision http/1.1 sni=blog.example.com host=admin.example.com target=/ -> 421 policy-mismatch rule=7 vhost=- request-vhost=admin causes=proxy-rewrote-host,cdn-rewrote-host,proxy-no-sni differs=client-auth,ca,vhost: .*'blog'.*client-auth=required" "$DIR/log")"
expect "no causes on a served request's log line" "0" \
  "$(grep -c "^decision .* -> 200 .*causes=" "$DIR/log")"
expect "lint at start-up: admin shares certificate site under another policy" "yes" \
  "$(grep -q "^$DIR/site.vhosts:[0-9]*: warning: .* \[coalesce-policy-mismatch\]$" "$DIR/log" && echo yes || echo no)"
expect "h1 SNI www, Host other.org" "421 cert-not-covering" \
  "$(req www.example.com:443 --http1.1 -H 'Host: other.org' https://www.example.com/)"
expect "h1 unknown host" "421 unknown-host" \
  "$(req www.example.com:443 --http1.1 -H 'Host: nope.example.com' https://www.example.com/)"
expect "h1 wrong port" "421 wrong-port" \
  "$(req www.example.com:443 --http1.1 -H 'Host: www.example.com:8443' https://www.example.com/)"
expect "h1 alias redirect" "308 redirect-alias" "$(req example.com:443 --http1.1 https://example.com/x?y=1)"
expect "h1 alias Location" "https://www.example.com/x?y=1" "$(header location)"
# curl sends one Host field at most: two come from openssl s_client.
expect "h1 two Host fields (openssl s_client)" "HTTP/1.1 400 Bad Request|host-multiple" \
  "$(printf 'GET / HTTP/1.1\r\nHost: www.example.com\r\nHost: www.example.com\r\n\r\n' |
     timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -servername www.example.com \
       -CAfile "$DIR/ca.pem" 2>/dev/null | tr -d '\r' |
     sed -n -e '1p' -e 's/^Misdirect-Reason: //p' | paste -sd'|')"
expect "h1 percent-encoded Host" "400 host-percent" \
  "$(req www.example.com:443 --http1.1 -H 'Host: www.exa%6dple.com' https://www.example.com/)"
expect "h1 CONNECT" "501 connect" \
  "$(req www.example.com:443 --http1.1 -X CONNECT --request-target www.example.com:443 -H 'Host: www.example.com:443' https://www.example.com/)"
expect "h1 unknown SNI refused in the handshake" "curl-exit-35 -" "$(req nope.example:443 https://nope.example/)"
expect "log: handshake refusal with its reason token and first cause" "1" \
  "$(grep -c '^handshake refused: alert unrecognized_name reason=sni-unknown sni=nope.example cause=client-bad-sni: the SNI names no vhost' "$DIR/log")"
expect "admin with a client certificate" "200 serve" \
  "$(req admin.example.com:443 --cert "$DIR/client.pem" --key "$DIR/client.key" https://admin.example.com/)"
expect "keep-alive: two served requests, one connection" "1 0" \
  "$(curl -sS -m 5 --cacert "$DIR/ca.pem" --connect-to "www.example.com:443:127.0.0.1:$PORT" --http1.1 \
      https://www.example.com/a https://www.example.com/b -o /dev/null -o /dev/null \
      -w '%{num_connects}\n' 2>/dev/null | paste -sd' ')"
stop
expect "h1_server exit status after SIGTERM" "0" "$STATUS"
expect "h1_server stderr free of sanitizer reports" "0" "$(grep -c 'Sanitizer\|runtime error' "$DIR/log" || true)"

start "$H1" plain
expect "cleartext http=redirect" "308 redirect-https" "$(req www.example.com:80 http://www.example.com/login?next=%2F)"
expect "cleartext Location" "https://www.example.com/login?next=%2F" "$(header location)"
expect "cleartext other.org served" "200 serve" "$(req other.org:80 http://other.org/)"
expect "https target on the cleartext listener" "421 https-on-cleartext" \
  "$(req other.org:80 --request-target https://other.org/ http://other.org/)"
stop
expect "h1_server (plain) exit status after SIGTERM" "0" "$STATUS"

# ---------------------------------------------------------------- h2_server
if [[ -n $H2 ]]; then
  start "$H2" web
  expect "h2 SNI=:authority=blog" "200 serve" "$(req blog.example.com:443 --http2 https://blog.example.com/)"
  expect "h2 negotiated" "HTTP/2 200" "$(head -1 "$DIR/headers" | tr -d '\r' | sed 's/ *$//')"
  expect "ORIGIN set for SNI blog (admin left out: other policy)" "1" \
    "$(grep -c '^origin frames=1 origins=3: https://blog.example.com https://www.example.com https://example.com$' "$DIR/log")"
  expect "h2 coalescing onto www" "200 serve-coalesced" \
    "$(req blog.example.com:443 --http2 -H 'Host: www.example.com' https://blog.example.com/)"
  expect "h2 coalescing onto admin refused" "421 policy-mismatch" \
    "$(req blog.example.com:443 --http2 -H 'Host: admin.example.com' https://blog.example.com/)"
  expect "h2 421 not cached" "no-store" "$(header cache-control)"
  expect "h2 log line: connection reuse first among the causes" "1" \
    "$(grep -c '^decision h2 sni=blog.example.com host=admin.example.com target=/ -> 421 policy-mismatch rule=7 vhost=- request-vhost=admin causes=connection-reuse,proxy-rewrote-host,proxy-no-sni differs=client-auth,ca,vhost: ' "$DIR/log")"
  expect "h2 other.org on blog's connection" "421 cert-not-covering" \
    "$(req blog.example.com:443 --http2 -H 'Host: other.org' https://blog.example.com/)"
  expect "h2 alias redirect" "308 redirect-alias" "$(req www.example.com:443 --http2 -H 'Host: example.com' https://www.example.com/d)"
  expect "h2 Location" "https://www.example.com/d" "$(header location)"
  expect "h2 comma in :authority" "400 host-bad-char" \
    "$(req www.example.com:443 --http2 -H 'Host: a.example.com,b.example.com' https://www.example.com/)"
  expect "http/1.1-only client refused (strict ALPN, h2 only)" "curl-exit-35 -" \
    "$(req www.example.com:443 --http1.1 https://www.example.com/)"
  stop
  expect "h2_server exit status after SIGTERM" "0" "$STATUS"
  expect "h2_server stderr free of sanitizer reports" "0" "$(grep -c 'Sanitizer\|runtime error' "$DIR/log" || true)"
fi

echo "$((CHECKS - FAILS)) passed, $FAILS failed"
if ((FAILS)); then echo "--- last server log ---"; cat "$DIR/log"; exit 1; fi
exit 0
