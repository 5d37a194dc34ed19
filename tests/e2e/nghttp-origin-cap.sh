#!/usr/bin/env bash
# e2e: the cap on the origin set (docs/origin.md, "Capping the origin set").
# 300 vhosts under one wildcard certificate: `nghttp -v` receives the
# default cap of 256 origins, the connection's own name first, then its
# certificate's other vhosts in table order.  Same /etc/hosts trick as
# nghttp-origin.sh (needs root for `unshare -m`).
# Usage: nghttp-origin-cap.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require nghttp unshare mount timeout openssl
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for 'unshare -m' with a private /etc/hosts"
  exit 77
fi
[[ -x $1 ]] || { echo "no server binary '$1'" >&2; exit 1; }
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/misdirect-e2e.XXXXXX")
trap 'e2e_stop; rm -rf "$E2E_DIR"' EXIT
e2e_pki "$E2E_DIR" || exit 1
N=300
{
  echo "listener web https 0 default=v0   # the kernel picks the port"
  echo "cert site file=site.pem key=site.key   # covers *.apps.example.com"
  for ((i = 0; i < N; i++)); do
    echo "vhost v$i listen=web names=v$i.apps.example.com cert=site"
  done
} >"$E2E_DIR/cap.vhosts"
e2e_start "$1" "$E2E_DIR/cap.vhosts" "$E2E_DIR/server.log" || exit 1
T=$(e2e_port web) || { echo "no port for listener web" >&2; exit 1; }
SNI=v150.apps.example.com
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$SNI" >"$E2E_DIR/hosts"
timeout 15 unshare -m sh -c 'h=$1; shift; mount --bind "$h" /etc/hosts && exec nghttp -v -t 5 "$@"' sh \
  "$E2E_DIR/hosts" "https://$SNI:$T/" >"$E2E_DIR/nghttp.out" 2>&1
# The ORIGIN entries nghttp printed, in the order received.
awk '/recv ORIGIN frame/ {on=1; next} on && /^ *\[https?:/ {gsub(/[][ ]/, ""); print; next} {on=0}' \
  "$E2E_DIR/nghttp.out" >"$E2E_DIR/origins"

e2e_expect "ORIGIN entries received (the default cap)" "256" "$(grep -c . "$E2E_DIR/origins")"
e2e_expect "first: the connection's own name" "https://$SNI:$T" "$(sed -n 1p "$E2E_DIR/origins")"
e2e_expect "then the certificate's vhosts in table order" \
  "https://v0.apps.example.com:$T https://v1.apps.example.com:$T" \
  "$(sed -n 2,3p "$E2E_DIR/origins" | paste -sd' ' -)"
e2e_expect "last: v255 (v150 came first)" "https://v255.apps.example.com:$T" \
  "$(sed -n 256p "$E2E_DIR/origins")"
e2e_expect "left out: v256 .. v299" "0" \
  "$(grep -cE "^https://v(25[6-9]|2[6-9][0-9])\.apps\.example\.com:$T\$" "$E2E_DIR/origins")"
e2e_expect "the server logged the same count" "1" \
  "$(grep -c " origin conn=[0-9]* listener=web sni=$SNI frames=[0-9]* origins=256 " "$E2E_DIR/server.log")"
e2e_expect "response" "1" "$(grep -c 'recv (stream_id=[0-9]*) :status: 200' "$E2E_DIR/nghttp.out")"
e2e_finish
