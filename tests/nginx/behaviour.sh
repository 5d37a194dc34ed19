#!/usr/bin/env bash
# tests/nginx/behaviour.sh SO
#
# The module's directives and variables on a real nginx:
#   - the variables in the access log (served and refused requests);
#   - `misdirect report;` serves what `on` refuses and logs what it would
#     have done (requests and handshakes);
#   - `nginx -t` fails, naming the directive, for bad directive values.
# Exits non-zero on the first unexpected result.

set -uo pipefail
so=${1:?usage: behaviour.sh SO}
source "$(dirname -- "${BASH_SOURCE[0]}")/nginx-lib.sh"

NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mdr-nginx-behaviour.XXXXXX")
trap 'ngx_stop; rm -rf "$NGX_DIR"' EXIT
ngx_setup "$NGX_DIR" || exit 1

d=www.example.com

# --- variables -------------------------------------------------------------
ngx_start "$NGX_DIR" module "$so" || ngx_fail "nginx did not start"
ngx_expect "served" "$(ngx_curl $d $d --http1.1)" "200 www"
ngx_expect "refused" "$(ngx_curl $d unknown.example.net --http2)" "421 421 Misdirected Request"
ngx_stop
log=$NGX_DIR/logs/access.log
grep -qx "$d 200 ms=200 mr=serve mv=server-1 mc=none" "$log" ||
  ngx_fail "served request: variables not in the access log: $(cat "$log")"
grep -qx "unknown.example.net 421 ms=421 mr=unknown-host mv=- mc=[a-z-]*" "$log" ||
  ngx_fail "refused request: variables not in the access log: $(cat "$log")"
echo "ok: variables in the access log"

# --- report ----------------------------------------------------------------
ngx_start "$NGX_DIR" report "$so" || ngx_fail "nginx (report) did not start"
ngx_expect "report: unknown Host served" "$(ngx_curl $d unknown.example.net --http1.1)" "200 www"
ngx_expect "report: unknown SNI accepted" "$(ngx_sclient unknown.example.net)" ok
ngx_stop
err=$NGX_DIR/logs/error.log
grep -q 'misdirect report (served): 421 unknown-host: ' "$err" ||
  ngx_fail "report: the refusal it would have made is not logged"
grep -q 'misdirect: handshake report (accepted) with alert unrecognized_name (sni-unknown): SNI unknown.example.net' "$err" ||
  ngx_fail "report: the handshake it would have refused is not logged"
grep -q 'ms=421 mr=unknown-host' "$NGX_DIR/logs/access.log" ||
  ngx_fail "report: the decision is not in the variables"
echo "ok: report mode serves and logs"

# --- nginx -t: bad values ----------------------------------------------------
ngx_pick_ports || ngx_fail "no ports"
check_bad() { # DIRECTIVE VALUE
  ngx_conf "$NGX_DIR" module "$so"
  if [[ $1 == misdirect ]]; then
    sed -i "s|^    misdirect on;|    misdirect $2;|" "$NGX_DIR/nginx.conf"
  else
    sed -i "s|^    misdirect on;|    misdirect on;\n    $1 $2;|" "$NGX_DIR/nginx.conf"
  fi
  local out
  if out=$("$NGINX" -t -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/logs/t.log" 2>&1); then
    ngx_fail "nginx -t accepted '$1 $2'"
  fi
  # nginx names the value, the file and the directive's line
  local line
  line=$(grep -n "^    $1 $2;" "$NGX_DIR/nginx.conf" | cut -d: -f1)
  grep -q "invalid value \"$2\" in $NGX_DIR/nginx.conf:$line\$" <<<"$out" ||
    ngx_fail "nginx -t for '$1 $2' does not name it: $out"
  echo "ok: nginx -t refuses '$1 $2'"
}
check_bad misdirect maybe
check_bad misdirect_unknown_sni ignore
check_bad misdirect_unknown_host allow
check_bad misdirect_no_sni accept

# a good configuration passes, and a regex server_name gets a warning
ngx_conf "$NGX_DIR" module "$so"
sed -i 's|server_name blog.example.com;|server_name blog.example.com ~^b[0-9]+\\.example\\.com$;|' "$NGX_DIR/nginx.conf"
out=$("$NGINX" -t -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/logs/t.log" 2>&1) ||
  ngx_fail "nginx -t refused a good configuration: $out"
grep -q 'misdirect: regex server_name "~^b\[0-9\]+\\.example\\.com\$" in .*nginx.conf:[0-9]* cannot be decided' \
  "$NGX_DIR/logs/t.log" <(echo "$out") || ngx_fail "no warning for a regex server_name: $out"
echo "ok: regex server_name warned about"
exit 0
