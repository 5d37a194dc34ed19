#!/usr/bin/env bash
# tests/nginx/table.sh SO
#
# misdirect_table FILE and misdirect_vhost NAME on a real nginx: the file's
# redirects are sent with Location (http=redirect and redirect-names=), its
# decisions apply, and nginx -t fails naming the file and the line when the
# file and the server{} blocks disagree.

set -uo pipefail
so=${1:?usage: table.sh SO}
source "$(dirname -- "${BASH_SOURCE[0]}")/nginx-lib.sh"

NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mdr-nginx-table.XXXXXX")
trap 'ngx_stop; rm -rf "$NGX_DIR"' EXIT
ngx_setup "$NGX_DIR" || exit 1

# BLOG_LISTEN: blog's listen= in the file (a disagreement when not "web")
BLOG_LISTEN=web
ADMIN_VERIFY=on
OTHER_CERT=other
write_vhosts() {
  cat >"$1/pki/site.vhosts" <<EOF
# the test's vhosts file
listener web   https $NGX_TLS_PORT default=home
listener plain http  $NGX_PLAIN_PORT default=home

cert site  file=site.pem  key=site.key
cert other file=other.pem key=other.key
policy staff client-auth=required ca-file=client-ca.pem

vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site http=redirect
vhost blog.example.com listen=$BLOG_LISTEN names=blog.example.com cert=site
vhost admin listen=web names=admin.example.com cert=site policy=staff
vhost other.org listen=web names=other.org cert=$OTHER_CERT
EOF
}

table_conf() {
  local d=$1 so=$3
  write_vhosts "$d"
  cat >"$d/nginx.conf" <<EOF
load_module $so;
worker_processes 1;
error_log $d/logs/error.log info;
pid $d/logs/nginx.pid;
events { worker_connections 64; }
http {
    misdirect on;
    misdirect_table $d/pki/site.vhosts;
    access_log off;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    default_type text/plain;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $d/pki/site.pem;
    ssl_certificate_key $d/pki/site.key;

    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl default_server;
        listen 127.0.0.1:$NGX_PLAIN_PORT default_server;
        server_name www.example.com example.com;
        misdirect_vhost home;
        return 200 "www\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name blog.example.com;
        return 200 "blog\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name admin.example.com;
        ssl_verify_client $ADMIN_VERIFY;
        ssl_client_certificate $d/pki/client-ca.pem;
        misdirect_vhost admin;
        return 200 "admin\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        server_name other.org;
        ssl_certificate $d/pki/other.pem;
        ssl_certificate_key $d/pki/other.key;
        return 200 "other\n";
    }
}
EOF
}
NGX_CONF_FN=table_conf

# redirect URL: "STATUS LOCATION"
redirect() {
  curl -s --max-time 5 -k -o /dev/null -w '%{http_code} %{redirect_url}' "$@"
}

ngx_start "$NGX_DIR" module "$so" || ngx_fail "nginx did not start with the table"
d=www.example.com
ngx_expect "http=redirect: cleartext sent to https" \
  "$(redirect -H "Host: $d:$NGX_PLAIN_PORT" "http://127.0.0.1:$NGX_PLAIN_PORT/x?y")" \
  "308 https://$d:$NGX_TLS_PORT/x?y"
ngx_expect "redirect-names=: the alias sent to the canonical name" \
  "$(redirect --resolve "example.com:$NGX_TLS_PORT:127.0.0.1" "https://example.com:$NGX_TLS_PORT/a")" \
  "308 https://$d:$NGX_TLS_PORT/a"
ngx_expect "served by its vhost" "$(ngx_curl $d $d --http2)" "200 www"
ngx_expect "coalesced" "$(ngx_curl $d blog.example.com --http2)" "200 blog"
ngx_expect "across policies" "$(ngx_curl admin.example.com $d --http1.1 \
  --cert "$NGX_DIR/pki/client.pem" --key "$NGX_DIR/pki/client.key")" "421 421 Misdirected Request"
ngx_expect "unknown SNI" "$(ngx_sclient unknown.example.net)" "alert 112"
ngx_stop

# nginx -t fails, naming the file and the line, when they disagree
check_t() { # WHAT PATTERN
  local out
  ngx_pick_ports || ngx_fail "no ports"
  table_conf "$NGX_DIR" module "$so"
  if out=$("$NGINX" -t -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/logs/t.log" 2>&1); then
    ngx_fail "$1: nginx -t accepted it"
  fi
  grep -q -- "$2" <<<"$out" || ngx_fail "$1: nginx -t says: $out"
  echo "ok: nginx -t: $1"
}
vh=$NGX_DIR/pki/site.vhosts
BLOG_LISTEN=web,plain
check_t "a vhost on a listener its server{} does not listen on" \
  "misdirect: $vh:10: vhost 'blog.example.com' is on listener 'plain' (port [0-9]*) but its server{} in $NGX_DIR/nginx.conf:[0-9]* does not listen there"
BLOG_LISTEN=web
ADMIN_VERIFY=off
check_t "a policy that is not the server's ssl_verify_client" \
  "misdirect: $vh:11: vhost 'admin' has policy 'staff' whose client-auth= differs from ssl_verify_client"
ADMIN_VERIFY=on
table_conf_orig=$(declare -f table_conf)
eval "${table_conf_orig/misdirect_vhost home;/misdirect_vhost nosuch;}"
check_t "a misdirect_vhost the file does not have" \
  "misdirect: the server in $NGX_DIR/nginx.conf:[0-9]*: $vh has no vhost named 'nosuch'"
eval "$table_conf_orig"
OTHER_CERT=nosuch
check_t "a file the parser refuses" "misdirect: $vh:12: vhost 'other.org': unknown cert 'nosuch'"
exit 0
