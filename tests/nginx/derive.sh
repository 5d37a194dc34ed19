#!/usr/bin/env bash
# tests/nginx/derive.sh SO
#
# How the module derives the table from server{} blocks, on a real nginx:
# ".a.b" names a.b and *.a.b; an exact name beats a wildcard; "_" names
# nothing and a default_server that is not the first server{} is the
# listener default; a name two server{} blocks claim stays with the first
# (nginx only warns, and so does the table: nginx starts); wildcards match
# one label; a UNIX-domain socket is no listener; and the three listener
# directives (unknown Host served by the
# default, no SNI refused, unknown SNI sent to the default).

set -uo pipefail
so=${1:?usage: derive.sh SO}
source "$(dirname -- "${BASH_SOURCE[0]}")/nginx-lib.sh"

NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mdr-nginx-derive.XXXXXX")
trap 'ngx_stop; rm -rf "$NGX_DIR"' EXIT
ngx_setup "$NGX_DIR" || exit 1

EXTRA=''
derive_conf() {
  local d=$1 so=$3
  cat >"$d/nginx.conf" <<EOF
load_module $so;
worker_processes 1;
error_log $d/logs/error.log info;
pid $d/logs/nginx.pid;
events { worker_connections 64; }
http {
    misdirect on;
    $EXTRA
    access_log off;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    default_type text/plain;
    ssl_certificate $d/pki/site.pem;
    ssl_certificate_key $d/pki/site.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519;

    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name .example.com;
        return 200 "dot\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl default_server;
        server_name _;
        return 200 "catchall\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name www.example.com;
        return 200 "www\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name www.example.com;
        return 200 "second-www\n";
    }
    server {
        listen 127.0.0.1:$NGX_PLAIN_PORT;
        listen unix:$d/u.sock;
        return 200 "plain\n";
    }
}
EOF
}
NGX_CONF_FN=derive_conf

ngx_start "$NGX_DIR" module "$so" || ngx_fail "nginx did not start"
grep -q 'conflicting server name "www.example.com"' "$NGX_DIR/logs/error.log" ||
  ngx_fail "nginx did not warn about the conflicting name (test setup)"
ngx_expect ".a.b names a.b" "$(ngx_curl example.com example.com)" "200 dot"
ngx_expect ".a.b names *.a.b" "$(ngx_curl foo.example.com foo.example.com)" "200 dot"
ngx_expect "an exact name beats the wildcard" "$(ngx_curl www.example.com www.example.com)" "200 www"
# a key share for P-256 only: the server (X25519 only) asks again with a
# HelloRetryRequest, and the second ClientHello keeps the first decision
ngx_expect "TLS 1.3 HelloRetryRequest" "$(ngx_sclient www.example.com -tls1_3 -groups P-256:X25519)" ok
ngx_expect "wildcards match one label (SNI two labels deep)" "$(ngx_sclient x.y.example.com)" "alert 112"
ngx_expect "no SNI: the default_server (_), coalesced to the Host's server" \
  "$(ngx_curl - www.example.com)" "200 www"
ngx_expect "_ names nothing" "$(ngx_curl - _)" "421 421 Misdirected Request"
ngx_expect "unknown Host refused" "$(ngx_curl - unknown.example.net)" "421 421 Misdirected Request"
ngx_expect "a server{} without server_name names nothing: unknown Host on its port" \
  "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: www.example.com:$NGX_PLAIN_PORT" "http://127.0.0.1:$NGX_PLAIN_PORT/")" 421
ngx_expect "a UNIX-domain socket is not decided" \
  "$(curl -s --max-time 5 --unix-socket "$NGX_DIR/u.sock" -H 'Host: anything.example' http://x/)" plain
ngx_stop

EXTRA='misdirect_unknown_host default; misdirect_no_sni reject; misdirect_unknown_sni default;'
ngx_start "$NGX_DIR" module "$so" || ngx_fail "nginx (listener directives) did not start"
ngx_expect "misdirect_unknown_host default: the default serves" \
  "$(curl -s --max-time 5 -H "Host: unknown.example.net:$NGX_PLAIN_PORT" "http://127.0.0.1:$NGX_PLAIN_PORT/")" "plain"
# the callback asks for missing_extension; OpenSSL sends handshake_failure
# (40) that early in the handshake
ngx_expect "misdirect_no_sni reject" "$(ngx_sclient -)" "alert 40"
ngx_expect "misdirect_unknown_sni default" "$(ngx_sclient x.y.example.com)" ok
ngx_stop

if grep -E 'exited on signal|\[(alert|crit|emerg)\]' "$NGX_DIR/logs/error.log" >&2; then
  ngx_fail "alerts in the error log (above)"
fi
exit 0
