#!/usr/bin/env bash
# e2e: `nghttp -v` prints exactly the connection's computed origin set, per
# SNI.  nghttp takes its SNI from the URL's host, so the names must resolve
# to 127.0.0.1: nghttp runs inside `unshare -m` with a private /etc/hosts
# bind-mounted over the real one (needs root, as CI runs).
# Usage: nghttp-origin.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require nghttp unshare mount timeout openssl
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for 'unshare -m' with a private /etc/hosts"
  exit 77
fi
e2e_setup "$1"
T=$E2E_TLS
printf '127.0.0.1 localhost\n127.0.0.1 example.com www.example.com blog.example.com admin.example.com other.org\n' \
  >"$E2E_DIR/hosts"

# The ORIGIN entries nghttp printed for a connection to https://SNI:T/, sorted.
nghttp_origins() {
  local sni=$1
  shift
  timeout 15 unshare -m sh -c 'h=$1; shift; mount --bind "$h" /etc/hosts && exec nghttp -v -t 5 "$@"' sh \
    "$E2E_DIR/hosts" "$@" "https://$sni:$T/" >"$E2E_DIR/nghttp.$sni.out" 2>&1
  awk '/recv ORIGIN frame/ {on=1; next} on && /^ *\[https?:/ {gsub(/[][ ]/, ""); print; next} {on=0}' \
    "$E2E_DIR/nghttp.$sni.out" | sort | paste -sd' ' -
}
# The set the server logged for that SNI (what the glue submitted), sorted.
logged_set() {
  grep " origin conn=[0-9]* listener=web sni=$1 " "$E2E_DIR/server.log" | tail -1 | sed 's/.* set=//' |
    tr ',' '\n' | sort | paste -sd' ' -
}

# Expected from docs/decision-rules.md, "The origin set of a connection": every concrete name on
# the listener that rule 7 serves with this handshake vhost.  SNI blog: the
# site certificate covers www/example.com/blog/admin, but admin's policy
# differs (client-auth=required), and other.org is another certificate.
exp_blog="https://blog.example.com:$T https://example.com:$T https://www.example.com:$T"
e2e_expect "SNI blog.example.com: ORIGIN entries" "$exp_blog" "$(nghttp_origins blog.example.com)"
e2e_expect "SNI blog.example.com: = the set the server computed" "$exp_blog" "$(logged_set blog.example.com)"
e2e_expect "SNI blog.example.com: response" "1" "$(grep -c 'recv (stream_id=[0-9]*) :status: 200' "$E2E_DIR/nghttp.blog.example.com.out")"
exp_other="https://other.org:$T"
e2e_expect "SNI other.org: ORIGIN entries" "$exp_other" "$(nghttp_origins other.org)"
e2e_expect "SNI other.org: = the set the server computed" "$exp_other" "$(logged_set other.org)"
e2e_expect "ORIGIN frame header (stream 0, flags 0)" "1" \
  "$(grep -c 'recv ORIGIN frame <length=[0-9]*, flags=0x00, stream_id=0>' "$E2E_DIR/nghttp.other.org.out")"
# admin: only its own origin (no other vhost shares its TLS policy); nghttp
# presents the client certificate the policy requires.
exp_admin="https://admin.example.com:$T"
e2e_expect "SNI admin.example.com: ORIGIN entries" "$exp_admin" \
  "$(nghttp_origins admin.example.com --cert="$E2E_DIR/client.pem" --key="$E2E_DIR/client.key")"
e2e_expect "SNI admin.example.com: = the set the server computed" "$exp_admin" "$(logged_set admin.example.com)"
echo "--- nghttp -v excerpt (SNI blog.example.com) ---"
grep -A4 'recv ORIGIN frame' "$E2E_DIR/nghttp.blog.example.com.out"
e2e_finish
