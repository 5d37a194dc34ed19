#!/usr/bin/env bash
# e2e: raw HTTP/1.x requests through `openssl s_client` (duplicate Host,
# absolute-form, HTTP/1.0, no SNI, oversize head, pipelining).
# Usage: sclient.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require openssl timeout
e2e_setup "$1"
T=$E2E_TLS

# raw SNI|-  REQUEST-BYTES  -> the response, CRs removed.  The server closes
# the connection after each of these (Connection: close, HTTP/1.0 or an
# error), which ends s_client; the timeout bounds it anyway.
raw() {
  local sni=(-servername "$1")
  [[ $1 == - ]] && sni=(-noservername)
  printf '%b' "$2" | timeout 10 openssl s_client -connect "127.0.0.1:$T" "${sni[@]}" \
    -CAfile "$E2E_DIR/ca.pem" -quiet -alpn http/1.1 2>/dev/null | tr -d '\r'
}
# status and misdirect-reason of the first response: "STATUS REASON"
sr() {
  awk 'NR==1 {s=$2} tolower($1)=="misdirect-reason:" && !r {r=$2} END {print s, r}'
}

H="www.example.com:$T"
e2e_expect "duplicate Host" "400 host-multiple" \
  "$(raw www.example.com "GET / HTTP/1.1\r\nHost: $H\r\nHost: $H\r\n\r\n" | sr)"
e2e_expect "duplicate Host, HTTP/1.0" "400 host-multiple" \
  "$(raw www.example.com "GET / HTTP/1.0\r\nHost: $H\r\nHost: other.org\r\n\r\n" | sr)"
e2e_expect "no Host, HTTP/1.1" "400 host-missing" \
  "$(raw www.example.com "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "HTTP/1.0 with Host" "200 serve" \
  "$(raw www.example.com "GET / HTTP/1.0\r\nHost: $H\r\n\r\n" | sr)"
e2e_expect "HTTP/1.0 without Host (unknown-host=reject)" "400 host-missing" \
  "$(raw www.example.com "GET / HTTP/1.0\r\n\r\n" | sr)"
e2e_expect "absolute-form, coalesced sibling" "200 serve-coalesced" \
  "$(raw www.example.com "GET https://blog.example.com:$T/x HTTP/1.1\r\nHost: blog.example.com:$T\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "absolute-form, Host names another host" "400 host-mismatch" \
  "$(raw www.example.com "GET https://blog.example.com:$T/x HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "absolute-form http:// on the TLS listener" "421 http-on-tls" \
  "$(raw www.example.com "GET http://www.example.com:$T/ HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "absolute-form, other scheme" "421 scheme-unsupported" \
  "$(raw www.example.com "GET ftp://www.example.com:$T/ HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "no SNI (default home), Host admin" "421 policy-mismatch" \
  "$(raw - "GET / HTTP/1.1\r\nHost: admin.example.com:$T\r\n\r\n" | sr)"
e2e_expect "no SNI, Host www" "200 serve" \
  "$(raw - "GET / HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "CONNECT at an origin" "501 connect" \
  "$(raw www.example.com "CONNECT www.example.com:$T HTTP/1.1\r\nHost: $H\r\n\r\n" | sr)"
e2e_expect "OPTIONS *" "200 serve" \
  "$(raw www.example.com "OPTIONS * HTTP/1.1\r\nHost: $H\r\nConnection: close\r\n\r\n" | sr)"
e2e_expect "target with a '#'" "400 target-bad-byte" \
  "$(raw www.example.com "GET /a#b HTTP/1.1\r\nHost: $H\r\n\r\n" | sr)"
e2e_expect "obs-fold" "400 obs-fold" \
  "$(raw www.example.com "GET / HTTP/1.1\r\nHost: $H\r\nX: a\r\n b\r\n\r\n" | sr)"
e2e_expect "bare LF line ending" "400 bare-lf" \
  "$(raw www.example.com "GET / HTTP/1.1\nHost: $H\n\n" | sr)"
big=$(printf 'X-Big: %0*d\\r\\n' 17000 0)
e2e_expect "oversize head" "431 head-too-large" \
  "$(raw www.example.com "GET / HTTP/1.1\r\nHost: $H\r\n$big\r\n" | sr)"
# Two pipelined requests in one write, with a body to skip on the first.
out=$(raw www.example.com "POST / HTTP/1.1\r\nHost: $H\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: blog.example.com:$T\r\nConnection: close\r\n\r\n")
e2e_expect "pipelined: two responses" "200 serve|200 serve-coalesced" \
  "$(printf '%s\n' "$out" | awk '/^HTTP\/1.1 /{s=$2} tolower($1)=="misdirect-reason:"{printf "%s%s %s", sep, s, $2; sep="|"}')"
e2e_finish
