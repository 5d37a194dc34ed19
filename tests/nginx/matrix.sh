#!/usr/bin/env bash
# tests/nginx/matrix.sh SO [--table]
#
# Runs the same requests and handshakes against Debian's nginx twice: with
# the misdirect module (`misdirect on;`) and without it (stock), and checks
# each result against the expected one for both.  With --table it prints
# the side-by-side Markdown table of docs/nginx.md (scripts/nginx-compare).
# Exits non-zero when any result differs from its expectation.
#
# The server{} blocks (tests/nginx/nginx-lib.sh): www.example.com (the
# TLS default), blog.example.com and admin.example.com share one
# certificate, admin requires a client certificate; other.org has its own
# certificate; a cleartext port serves www.example.com.

set -uo pipefail
so=${1:?usage: matrix.sh SO [--table]}
table=0
[[ ${2:-} == --table ]] && table=1

source "$(dirname -- "${BASH_SOURCE[0]}")/nginx-lib.sh"

NGX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mdr-nginx-matrix.XXXXXX")
trap 'ngx_stop; rm -rf "$NGX_DIR"' EXIT
ngx_setup "$NGX_DIR" || exit 1
cert=(--cert "$NGX_DIR/pki/client.pem" --key "$NGX_DIR/pki/client.key")
scert=(-cert "$NGX_DIR/pki/client.pem" -key "$NGX_DIR/pki/client.key")

# One case: id, what it shows, then the command printing its result.
ids=() whats=()
declare -A got
run_cases() {
  local mode=$1
  c() {
    local id=$1 what=$2
    shift 2
    if [[ $mode == module ]]; then ids+=("$id"); whats+=("$what"); fi
    got[$mode.$id]=$("$@")
  }
  local d=www.example.com b=blog.example.com a=admin.example.com o=other.org
  c same-h1 "same name, HTTP/1.1" ngx_curl $d $d --http1.1
  c same-h2 "same name, HTTP/2" ngx_curl $d $d --http2
  c coalesced-h1 "sibling, same certificate and policy, HTTP/1.1" ngx_curl $d $b --http1.1
  c coalesced-h2 "sibling, same certificate and policy, HTTP/2" ngx_curl $d $b --http2
  c policy-h1 "SNI of the client-cert vhost, Host of a sibling" ngx_curl $a $d --http1.1 "${cert[@]}"
  c policy-h2 "the same over HTTP/2" ngx_curl $a $d --http2 "${cert[@]}"
  c policy-rev "SNI of a sibling, Host of the client-cert vhost" ngx_curl $d $a --http1.1
  c refusal-body "what a refused client receives" ngx_body $a $d "${cert[@]}"
  c other-cert "name of another certificate" ngx_curl $d $o --http2
  c unknown-host "unknown Host" ngx_curl $d unknown.example.net --http1.1
  c wrong-port "Host with another port" ngx_curl $d "$d:1" --http1.1
  c no-sni-covered "no SNI, Host of the default" ngx_curl - $d --http1.1
  c no-sni-other "no SNI, Host the default's certificate does not cover" ngx_curl - $o --http1.1
  c unknown-sni "unknown SNI (handshake)" ngx_sclient unknown.example.net
  c client-cert-missing "client-cert vhost without a certificate" ngx_curl $a $a --http1.1
  c client-cert "client-cert vhost with a certificate" ngx_curl $a $a --http1.1 "${cert[@]}"
  c dup-host "two Host headers" ngx_raw $d "GET / HTTP/1.1\r\nHost: $d:$NGX_TLS_PORT\r\nHost: $b:$NGX_TLS_PORT\r\nConnection: close\r\n\r\n"
  c tls12-ticket-across "TLS 1.2 ticket, resumed across policies" ngx_resume $d $a -tls1_2 "${scert[@]}"
  c tls12-ticket-within "TLS 1.2 ticket, resumed within one policy" ngx_resume $d $b -tls1_2
  c tls12-id-across "TLS 1.2 session id, resumed across policies" ngx_resume $d $a -tls1_2 -no_ticket "${scert[@]}"
  c tls12-id-within "TLS 1.2 session id, resumed within one policy" ngx_resume $d $b -tls1_2 -no_ticket
  c tls13-across "TLS 1.3 PSK, resumed across policies" ngx_resume $d $a -tls1_3 "${scert[@]}"
  c tls13-within "TLS 1.3 PSK, resumed within one policy" ngx_resume $d $b -tls1_3
  c plain "cleartext port" curl -s --max-time 5 -o /dev/null -w '%{http_code}\n' -H "Host: $d:$NGX_PLAIN_PORT" "http://127.0.0.1:$NGX_PLAIN_PORT/"
  c plain-unknown "cleartext port, unknown Host" curl -s --max-time 5 -o /dev/null -w '%{http_code}\n' -H "Host: nope.example.net:$NGX_PLAIN_PORT" "http://127.0.0.1:$NGX_PLAIN_PORT/"
}

declare -A want_module=(
  [same-h1]="200 www" [same-h2]="200 www"
  [coalesced-h1]="200 blog" [coalesced-h2]="200 blog"
  [policy-h1]="421 421 Misdirected Request" [policy-h2]="421 421 Misdirected Request"
  [policy-rev]="421 <html>"
  [refusal-body]="421 text/plain 421 Misdirected Request|policy-mismatch||"
  [other-cert]="421 421 Misdirected Request"
  [unknown-host]="421 421 Misdirected Request" [wrong-port]="421 421 Misdirected Request"
  [no-sni-covered]="200 www" [no-sni-other]="421 421 Misdirected Request"
  [unknown-sni]="alert 112"
  [client-cert-missing]="400 <html>" [client-cert]="200 admin"
  [dup-host]=400
  [tls12-ticket-across]=new [tls12-ticket-within]=reused
  [tls12-id-across]=new [tls12-id-within]=reused
  [tls13-across]=new [tls13-within]=reused
  [plain]=200 [plain-unknown]=421
)
declare -A want_stock=(
  [same-h1]="200 www" [same-h2]="200 www"
  [coalesced-h1]="200 blog" [coalesced-h2]="200 blog"
  [policy-h1]="200 www" [policy-h2]="200 www"
  [policy-rev]="421 <html>"
  [refusal-body]="200 text/plain www||"
  [other-cert]="200 other"
  [unknown-host]="200 www" [wrong-port]="200 www"
  [no-sni-covered]="200 www" [no-sni-other]="200 other"
  [unknown-sni]=ok
  [client-cert-missing]="400 <html>" [client-cert]="200 admin"
  [dup-host]=400
  [tls12-ticket-across]=reused [tls12-ticket-within]=reused
  [tls12-id-across]=reused [tls12-id-within]=reused
  [tls13-across]=new [tls13-within]=reused
  [plain]=200 [plain-unknown]=200
)

fails=0
for mode in module stock; do
  ngx_start "$NGX_DIR" "$mode" "$so" || { echo "FAIL: nginx ($mode) did not start" >&2; exit 1; }
  run_cases "$mode"
  ngx_stop
  if grep -E 'exited on signal|\[(alert|crit|emerg)\]' "$NGX_DIR/logs/error.log" >&2; then
    echo "FAIL: $mode: alerts in the error log (above)" >&2
    fails=$((fails + 1))
  fi
  [[ $mode == module ]] && cp "$NGX_DIR/logs/error.log" "$NGX_DIR/module-error.log"
done

short() { # the result as the table shows it
  local r=$1
  case $r in
    "421 421 Misdirected Request") echo "421 (misdirect)" ;;
    "421 <html>") echo "421 (nginx)" ;;
    "400 <html>" | 400) echo "400 (nginx)" ;;
    "alert 112") echo "alert unrecognized_name" ;;
    ok) echo "handshake accepted" ;;
    reused) echo "resumed" ;;
    new) echo "not resumed" ;;
    "200 text/plain "*) r=${r#200 text/plain }; echo "200 (${r%%|*})" ;;
    "421 text/plain "*)
      r=${r#421 text/plain }
      r=${r%||}
      echo "421, text/plain: \`${r//|/\\n}\`" ;;
    "200 "*) echo "200 (${r#200 })" ;;
    *) echo "$r" ;;
  esac
}

((table)) && printf '| case | stock nginx 1.22 | with `misdirect on;` |\n|---|---|---|\n'
for i in "${!ids[@]}"; do
  id=${ids[$i]}
  m=${got[module.$id]} s=${got[stock.$id]}
  if [[ $m != "${want_module[$id]}" ]]; then
    echo "FAIL: $id (module): got '$m', want '${want_module[$id]}'" >&2
    fails=$((fails + 1))
  fi
  if [[ $s != "${want_stock[$id]}" ]]; then
    echo "FAIL: $id (stock): got '$s', want '${want_stock[$id]}'" >&2
    fails=$((fails + 1))
  fi
  if ((table)); then
    printf '| %s | %s | %s |\n' "${whats[$i]}" "$(short "$s")" "$(short "$m")"
  else
    printf '%-22s stock: %-16s module: %s\n' "$id" "$(short "$s")" "$(short "$m")"
  fi
done

# Refusals are logged with their full explanation at info level.
if ! grep -q 'misdirect: 421 policy-mismatch: ' "$NGX_DIR/module-error.log"; then
  echo "FAIL: no 'misdirect: 421 policy-mismatch' explanation in the error log" >&2
  fails=$((fails + 1))
fi
if ! grep -q 'misdirect: handshake refused with alert unrecognized_name (sni-unknown): SNI unknown.example.net' \
  "$NGX_DIR/module-error.log"; then
  echo "FAIL: the refused handshake is not logged" >&2
  fails=$((fails + 1))
fi
((fails == 0)) || { echo "$fails failure(s)" >&2; exit 1; }
exit 0
