#!/usr/bin/env bash
# e2e: listeners on port 0 and --ports-file (issue 11: no test guesses a free
# port).  The server finds `listener NAME SCHEME 0` however the statement is
# written (continuation lines, CRLF, comments, leading zeros), binds a port
# the kernel picks, and that port is the one decisions, redirects and ORIGIN
# frames use; --port-offset does not move it.  Usage: ports.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require curl openssl
[[ -x $1 ]] || { echo "no server binary '$1'" >&2; exit 1; }
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/misdirect-e2e.XXXXXX")
trap 'e2e_stop; rm -rf "$E2E_DIR"' EXIT
e2e_pki "$E2E_DIR" || exit 1
e2e_vhosts "$E2E_DIR"
# The same table, its listener statements written the hard way.
awk '
  /^listener web /   { printf "# listener fake https 0 (a comment, not a listener)\n"
                       printf "listener web   https \\\r\n\t0 default=home   # port 0 \\\r\n"; next }
  /^listener plain / { printf "listener plain http 000\\\n\n"; next }
  { print }' "$E2E_DIR/demo.vhosts" >"$E2E_DIR/hard.vhosts"
e2e_start "$1" "$E2E_DIR/hard.vhosts" "$E2E_DIR/server.log" --port-offset 7 || exit 1
E2E_TLS=$(e2e_port web) E2E_PLAIN=$(e2e_port plain)
T=$E2E_TLS P=$E2E_PLAIN
e2e_expect "ports file: one line per listener, NAME SCHEME PORT" "web https $T|plain http $P" \
  "$(paste -sd'|' "$E2E_DIR/server.log.ports")"
e2e_expect "two distinct ports above 0" "yes" "$( ((T > 0 && P > 0 && T != P)) && echo yes || echo no)"
e2e_expect "no temporary file left behind" "" "$(cd "$E2E_DIR" && ls | grep 'ports\.tmp' || true)"
e2e_expect "the log names the bound ports" "2" \
  "$(grep -c -e " listening listener=web scheme=https addr=127.0.0.1:$T$" \
       -e " listening listener=plain scheme=http addr=127.0.0.1:$P$" "$E2E_DIR/server.log")"
e2e_expect "a request naming the bound port is served (the port decisions use)" "200 serve" \
  "$(e2e_curl --resolve "www.example.com:$T:127.0.0.1" "https://www.example.com:$T/")"
e2e_expect "the redirect names the bound TLS port" "308 https://www.example.com:$T/x" \
  "$(e2e_curl -H "Host: www.example.com:$P" "http://127.0.0.1:$P/x" | cut -d' ' -f1) $(e2e_header location)"
e2e_expect "the ORIGIN set names the bound port" "1" \
  "$(e2e_curl --resolve "blog.example.com:$T:127.0.0.1" --http2 "https://blog.example.com:$T/" >/dev/null
     grep -c " origin conn=[0-9]* listener=web sni=blog.example.com .*set=\(.*,\)\{0,1\}https://blog.example.com:$T\(,.*\)\{0,1\}\$" "$E2E_DIR/server.log")"
# A second run with the same ports file replaces it (the server renames a
# new file over it).
e2e_stop
e2e_expect "first server stopped cleanly" "0" "$E2E_SERVER_STATUS"
e2e_start "$1" "$E2E_DIR/hard.vhosts" "$E2E_DIR/server.log" || exit 1
e2e_expect "the ports file of the next run: two lines, new ports" "2 yes" \
  "$(wc -l <"$E2E_DIR/server.log.ports") $( [[ $(e2e_port web) != "$T" || $(e2e_port plain) != "$P" ]] && echo yes || echo no)"
e2e_finish
