#!/usr/bin/env bash
# tests/nginx/reload.sh SO
#
# Three reloads (SIGHUP to the nginx master this test started) under a
# bounded load of HTTPS requests: one that adds the module, one that
# changes the configuration, one that removes the module.  Every request
# must succeed, no worker may die, and new handshakes must work after each
# reload (the prototype's workers crashed with SIGSEGV after the module was
# removed, because OpenSSL kept ex_data callbacks into the unloaded .so).

set -uo pipefail
so=${1:?usage: reload.sh SO}
source "$(dirname -- "${BASH_SOURCE[0]}")/nginx-lib.sh"

NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mdr-nginx-reload.XXXXXX")
load_pid=
trap '[[ -n $load_pid ]] && kill "$load_pid" 2>/dev/null; ngx_stop; rm -rf "$NGX_DIR"' EXIT
ngx_setup "$NGX_DIR" || exit 1

ngx_start "$NGX_DIR" stock || ngx_fail "nginx did not start"
d=www.example.com

# Bounded load: new TLS connections one after the other, HTTP/1.1 and
# HTTP/2 alternating, until the reloads are done (at most 1000); every
# result is recorded.
(
  for ((i = 0; i < 1000; i++)); do
    [[ -e $NGX_DIR/load.stop ]] && break
    if ((i % 2)); then v=--http2; else v=--http1.1; fi
    ngx_curl $d $d "$v"
  done
) >"$NGX_DIR/load.out" 2>&1 &
load_pid=$!

# reload CONF-MODE: rewrite the configuration, SIGHUP, wait until the old
# workers are gone, then check that new handshakes and requests work.
generation=0
reload() {
  local mode=$1 i before
  ngx_conf "$NGX_DIR" "$mode" "$so"
  [[ ${2:-} == change ]] && sed -i 's|return 200 "blog\\n";|return 200 "blog2\\n";|' "$NGX_DIR/nginx.conf"
  "$NGINX" -t -q -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/logs/t.log" ||
    ngx_fail "reload $mode: nginx -t failed"
  before=$(grep -c 'start worker process' "$NGX_DIR/logs/error.log")
  kill -HUP "$NGX_PID" || ngx_fail "reload $mode: nginx is gone"
  for ((i = 0; i < 100; i++)); do
    (($(grep -c 'start worker process' "$NGX_DIR/logs/error.log") > before)) && break
    sleep 0.1
  done
  (($(grep -c 'start worker process' "$NGX_DIR/logs/error.log") > before)) ||
    ngx_fail "reload $mode: no new worker"
  generation=$((generation + 1))
  sleep 0.5
  local r
  for ((i = 0; i < 5; i++)); do
    r=$(ngx_curl $d $d --http2)
    [[ $r == "200 www" ]] || ngx_fail "reload $generation ($mode): request after reload: $r"
    r=$(ngx_sclient $d)
    [[ $r == ok ]] || ngx_fail "reload $generation ($mode): handshake after reload: $r"
  done
  echo "ok: reload $generation ($mode${2:+, $2})"
}

sleep 0.5
reload module            # the module is added
sleep 0.5
reload module change     # the configuration changes
sleep 0.5
reload stock             # the module is removed
sleep 1
# after the removal the module must be gone: unknown Host served again
r=$(ngx_curl $d unknown.example.net --http1.1)
[[ $r == "200 www" ]] || ngx_fail "after removing the module: unknown Host: $r"

touch "$NGX_DIR/load.stop"
wait "$load_pid"
load_pid=
n=$(grep -c . "$NGX_DIR/load.out")
ok=$(grep -c '^200 www$' "$NGX_DIR/load.out")
((n >= 10)) || ngx_fail "load: only $n requests during the reloads"
((ok == n)) || ngx_fail "load: $((n - ok)) of $n requests failed: $(grep -v '^200 www$' "$NGX_DIR/load.out" | sort | uniq -c)"
echo "ok: $n requests during three reloads, none failed"

if grep -E 'exited on signal|\[(alert|crit|emerg)\]' "$NGX_DIR/logs/error.log" >&2; then
  ngx_fail "a worker died or nginx logged an alert (above)"
fi
echo "ok: no worker died"
exit 0
