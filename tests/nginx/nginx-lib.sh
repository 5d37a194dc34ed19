# Shared helpers for the nginx module tests (tests/nginx/*.sh) and
# scripts/nginx-compare.  Sourced, never run.  Needs bash, python3 (to pick
# free ports), curl, the openssl CLI and Debian's nginx.
#
#   ngx_setup DIR               throwaway PKI (tests/e2e/e2e-lib.sh) in DIR/pki
#   ngx_conf DIR MODE [SO]      DIR/nginx.conf for MODE module|stock|report
#                               (SO: the module to load_module); uses
#                               NGX_TLS_PORT / NGX_PLAIN_PORT
#   ngx_start DIR MODE [SO]     pick ports, write the configuration (with
#                               $NGX_CONF_FN when set, else ngx_conf), start
#                               nginx with prefix DIR (retries a bounded
#                               number of times when a port was taken);
#                               sets NGX_PID
#   ngx_stop DIR                stop that nginx by its PID (TERM, then KILL)
#   ngx_curl ARGS...            curl against the TLS port, printing
#                               "STATUS BODY-FIRST-LINE" or "fail"
#   ngx_fail MSG...             print "FAIL: MSG" and exit 1
#   ngx_expect WHAT GOT WANT    "ok: WHAT", or ngx_fail when GOT != WANT

NGINX=${NGINX:-/usr/sbin/nginx}
NGX_HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../e2e/e2e-lib.sh
source "$NGX_HERE/../e2e/e2e-lib.sh"

NGX_PID=
NGX_TLS_PORT=
NGX_PLAIN_PORT=

ngx_setup() {
  mkdir -p "$1/logs"
  e2e_pki "$1/pki"
}

# Two free ports: the kernel chooses them (bind to port 0), so parallel
# tests do not collide except in the short window before nginx binds them,
# which ngx_start covers by retrying.
ngx_pick_ports() {
  local ports
  ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
for x in s:
    x.close()') || return 1
  read -r NGX_TLS_PORT NGX_PLAIN_PORT <<<"$ports"
}

ngx_conf() {
  local d=$1 mode=$2 so=${3:-} load='' on='' fmt
  fmt='$host $status'
  if [[ $mode != stock ]]; then
    load="load_module $so;"
    on="misdirect $([[ $mode == report ]] && echo report || echo on);"
    fmt='$host $status ms=$misdirect_status mr=$misdirect_reason mv=$misdirect_vhost mc=$misdirect_cause'
  fi
  cat >"$d/nginx.conf" <<EOF
$load
worker_processes 1;
error_log $d/logs/error.log info;
pid $d/logs/nginx.pid;
events { worker_connections 256; }
http {
    $on
    log_format t '$fmt';
    access_log $d/logs/access.log t;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    default_type text/plain;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:t:1m;
    ssl_certificate $d/pki/site.pem;
    ssl_certificate_key $d/pki/site.key;

    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl http2 default_server;
        server_name www.example.com;
        return 200 "www\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl http2;
        server_name blog.example.com;
        return 200 "blog\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl http2;
        server_name admin.example.com;
        ssl_verify_client on;
        ssl_client_certificate $d/pki/client-ca.pem;
        return 200 "admin\n";
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl http2;
        server_name other.org;
        ssl_certificate $d/pki/other.pem;
        ssl_certificate_key $d/pki/other.key;
        return 200 "other\n";
    }
    server {
        listen 127.0.0.1:$NGX_PLAIN_PORT;
        server_name www.example.com;
        return 200 "plain\n";
    }
}
EOF
}

ngx_start() {
  local d=$1 mode=$2 so=${3:-} i
  mkdir -p "$d/logs" "$d/tmp"
  for ((i = 0; i < 5; i++)); do
    ngx_pick_ports || return 1
    "${NGX_CONF_FN:-ngx_conf}" "$d" "$mode" "$so"
    : >"$d/logs/error.log"
    if "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" 2>"$d/logs/start.log"; then
      NGX_PID=$(cat "$d/logs/nginx.pid")
      return 0
    fi
    grep -q 'Address already in use' "$d/logs/start.log" "$d/logs/error.log" || {
      cat "$d/logs/start.log" "$d/logs/error.log" >&2
      return 1
    }
  done
  echo "nginx: no free ports after 5 attempts" >&2
  return 1
}

ngx_stop() {
  local i
  [[ -n $NGX_PID ]] || return 0
  kill -TERM "$NGX_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$NGX_PID" 2>/dev/null || { NGX_PID=; return 0; }
    sleep 0.1
  done
  kill -KILL "$NGX_PID" 2>/dev/null || true
  NGX_PID=
}

# ngx_curl SNI HOST-HEADER [CURL-ARGS...]: an https request to the TLS
# port.  SNI "-" sends none (curl sends no SNI for an IP address).
ngx_curl() {
  local sni=$1 host=$2 url out resolve=()
  shift 2
  if [[ $sni == - ]]; then
    url="https://127.0.0.1:$NGX_TLS_PORT/"
  else
    url="https://$sni:$NGX_TLS_PORT/"
    resolve=(--resolve "$sni:$NGX_TLS_PORT:127.0.0.1")
  fi
  # the port is part of Host, as clients send it
  [[ $host == *:* ]] || host=$host:$NGX_TLS_PORT
  # -k: the cases send Host names the SNI's certificate may not cover
  out=$(curl -sS -k --max-time 5 "${resolve[@]}" -H "Host: $host" \
    -w '\n%{http_code}' "$@" "$url" 2>/dev/null) || { echo fail; return 0; }
  printf '%s %s\n' "${out##*$'\n'}" "$(head -n 1 <<<"$out" | tr -d '\r')"
}

# ngx_body SNI HOST [CURL-ARGS...]: "STATUS CONTENT-TYPE BODY" with the body's newlines
# shown as "|".
ngx_body() {
  local sni=$1 host=$2 out
  shift 2
  out=$(curl -sS -k --max-time 5 --resolve "$sni:$NGX_TLS_PORT:127.0.0.1" \
    -H "Host: $host:$NGX_TLS_PORT" -w '\n%{http_code} %{content_type}' "$@" \
    "https://$sni:$NGX_TLS_PORT/" 2>/dev/null) || { echo fail; return 0; }
  printf '%s %s\n' "${out##*$'\n'}" "$(sed '$d' <<<"$out" | tr '\n' '|')"
}

# ngx_raw SNI REQUEST: send REQUEST (printf format) over TLS as is; prints
# the response's status code, or "fail".
ngx_raw() {
  local out
  # shellcheck disable=SC2059
  out=$(printf "$2" | timeout 10 openssl s_client -connect "127.0.0.1:$NGX_TLS_PORT" \
    -servername "$1" -quiet -ign_eof 2>/dev/null | head -n 1 | tr -d '\r')
  [[ $out == HTTP/1.1\ * ]] || { echo fail; return 0; }
  out=${out#HTTP/1.1 }
  echo "${out%% *}"
}

# ngx_sclient SNI [S_CLIENT-ARGS...]: a handshake with the TLS port;
# prints "ok", or "alert NAME" when the server refused it.
ngx_sclient() {
  local sni=$1 out
  shift
  local args=(-connect "127.0.0.1:$NGX_TLS_PORT")
  [[ $sni == - ]] && args+=(-noservername) || args+=(-servername "$sni")
  out=$(timeout 10 openssl s_client "${args[@]}" "$@" </dev/null 2>&1) || true
  if grep -q 'alert' <<<"$out"; then
    printf 'alert %s\n' "$(grep -o 'alert number [0-9]*' <<<"$out" | head -n 1 | sed 's/^alert number //')"
  elif grep -q '^New, \|^Reused, ' <<<"$out"; then
    echo ok
  else
    echo fail
  fi
}

# ngx_resume SNI1 SNI2 VERSION [EXTRA...]: a session made with SNI1, offered
# with SNI2; prints "reused", "new" or "fail".
ngx_resume() {
  local sni1=$1 sni2=$2 ver=$3 sess out
  shift 3
  sess=$(mktemp "$NGX_DIR/tmp/sess.XXXXXX")
  printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$sni1" |
    timeout 10 openssl s_client -connect "127.0.0.1:$NGX_TLS_PORT" -servername "$sni1" \
      "$ver" -ign_eof -sess_out "$sess" "$@" >/dev/null 2>&1 || true
  [[ -s $sess ]] || { echo fail; rm -f "$sess"; return 0; }
  out=$(printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$sni2" |
    timeout 10 openssl s_client -connect "127.0.0.1:$NGX_TLS_PORT" -servername "$sni2" \
      "$ver" -ign_eof -sess_in "$sess" "$@" 2>&1) || true
  rm -f "$sess"
  if grep -q '^Reused, ' <<<"$out"; then echo reused
  elif grep -q '^New, ' <<<"$out"; then echo new
  else echo fail
  fi
}

ngx_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ngx_expect() { # WHAT GOT WANT
  [[ $2 == "$3" ]] || ngx_fail "$1: got '$2', want '$3'"
  echo "ok: $1"
}
