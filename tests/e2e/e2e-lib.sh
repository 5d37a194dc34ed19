# Shared helpers for the end-to-end tests (tests/e2e/*.sh) and
# scripts/demo-wire.  Sourced, never run.  Needs bash and the openssl CLI.
#
#   e2e_pki DIR                 throwaway PKI: a server CA, a client-auth CA,
#                               leaf certificates site (example.com, www.,
#                               blog., admin., *.apps.example.com) and other
#                               (other.org),
#                               a client certificate (client.pem/client.key)
#   e2e_vhosts DIR              DIR/demo.vhosts using that PKI, its two
#                               listeners (web, plain) on port 0
#   e2e_start SERVER VHOSTS LOG [ARG...]
#                               start misdirect-server (with ARGs), wait until it is ready;
#                               sets E2E_PID.  Port-0 listeners are bound
#                               on ports the kernel picks, which the server
#                               writes to LOG.ports (--ports-file): no port
#                               is guessed, so tests can run in parallel
#   e2e_port NAME               the port listener NAME was bound on
#   e2e_stop                    stop it by its PID (SIGTERM, then SIGKILL)

e2e_pki() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    local subj=/O=misdirect-throwaway
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "$subj/CN=misdirect test CA" -keyout ca.key -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "$subj/CN=misdirect client CA" -keyout client-ca.key -out client-ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    leaf() { # NAME CA SAN EKU
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj/CN=$1" \
        -keyout "$1.key" -out "$1.csr"
      printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
        "$4" "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem"
    }
    leaf site ca "subjectAltName=DNS:example.com,DNS:www.example.com,DNS:blog.example.com,DNS:admin.example.com,DNS:*.apps.example.com" serverAuth
    leaf other ca "subjectAltName=DNS:other.org" serverAuth
    leaf client client-ca "subjectAltName=DNS:client.example" clientAuth
  ) >"$d/pki.log" 2>&1 || { cat "$d/pki.log" >&2; return 1; }
}

e2e_vhosts() {
  cat >"$1/demo.vhosts" <<VHOSTS
# misdirect example table (vhosts contract format, see docs/vhosts-file.md).
# Port 0: misdirect-server binds each listener on a free loopback port and
# reports it (--ports-file).  Paths are relative to this file.
listener web   https 0 default=home
listener plain http  0

cert site  file=site.pem  key=site.key     # example.com www. blog. admin. *.apps.
cert other file=other.pem key=other.key    # other.org

# admin requires a client certificate issued by the client CA.
policy staff client-auth=required ca-file=client-ca.pem

vhost home  listen=web,plain names=www.example.com redirect-names=example.com cert=site http=redirect
vhost blog  listen=web       names=blog.example.com  cert=site
vhost admin listen=web       names=admin.example.com cert=site policy=staff
vhost other listen=web,plain names=other.org         cert=other
# A wildcard vhost: never listed in an ORIGIN frame (RFC 8336 has no wildcards).
vhost apps  listen=web       names=*.apps.example.com cert=site
VHOSTS
}

E2E_PID=
E2E_SERVER_STATUS=
E2E_SERVER_LOG=
e2e_start() {
  local server=$1 vhosts=$2 log=$3 i
  shift 3
  E2E_SERVER_LOG=$log
  : >"$log"
  rm -f "$log.ports"
  "$server" -c "$vhosts" --log "$log" --ports-file "$log.ports" "$@" </dev/null >"$log.stderr" 2>&1 &
  E2E_PID=$!
  # The ports file appears (renamed into place) once every listener is bound.
  for ((i = 0; i < 200; i++)); do
    [[ -s $log.ports ]] && return 0
    kill -0 "$E2E_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "misdirect-server did not start:" >&2
  cat "$log" "$log.stderr" >&2
  return 1
}

e2e_port() {
  awk -v n="$1" '$1 == n {print $3; f=1} END {exit !f}' "$E2E_SERVER_LOG.ports"
}

e2e_stop() {
  [[ -n $E2E_PID ]] || return 0
  local i
  # Safe under `set -e`: a server that already exited is not an error here.
  kill -TERM "$E2E_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$E2E_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$E2E_PID" 2>/dev/null || true
  E2E_SERVER_STATUS=0
  wait "$E2E_PID" 2>/dev/null || E2E_SERVER_STATUS=$?
  E2E_PID=
}

# ------------------------------------------------------------ test helpers --
# e2e_require CMD...    exit 77 (ctest SKIP_RETURN_CODE) naming what is missing
e2e_require() {
  local c
  for c in "$@"; do
    if ! command -v "$c" >/dev/null 2>&1; then
      echo "SKIP: '$c' is not installed (Debian: curl, nghttp2-client, openssl, tshark)"
      exit 77
    fi
  done
}

E2E_FAILS=0
E2E_CHECKS=0
# e2e_expect WHAT EXPECTED ACTUAL
e2e_expect() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  if [[ $2 == "$3" ]]; then
    printf 'ok     %s: %s\n' "$1" "$3"
  else
    printf 'FAIL   %s\n       expected: %s\n       got:      %s\n' "$1" "$2" "$3"
    E2E_FAILS=$((E2E_FAILS + 1))
  fi
}

e2e_finish() {
  # The server must stop cleanly on SIGTERM (exit 0, no sanitizer report).
  e2e_stop
  e2e_expect "server exit status after SIGTERM" "0" "$E2E_SERVER_STATUS"
  e2e_expect "server stderr free of sanitizer reports" "0" \
    "$(grep -c 'Sanitizer\|runtime error' "$E2E_SERVER_LOG.stderr" 2>/dev/null || true)"
  echo "$((E2E_CHECKS - E2E_FAILS)) passed, $E2E_FAILS failed"
  if ((E2E_FAILS)); then
    echo "--- server log ---"
    cat "$E2E_DIR/server.log"
    exit 1
  fi
  exit 0
}

# e2e_setup SERVER [ARG...]: temp dir, PKI, vhosts, server started (with
# ARGs) on ports it picked.
# Sets E2E_DIR, E2E_TLS, E2E_PLAIN; stops the server and removes the dir on exit.
e2e_setup() {
  [[ -x $1 ]] || { echo "no server binary '$1'" >&2; exit 1; }
  E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/misdirect-e2e.XXXXXX")
  trap 'e2e_stop; rm -rf "$E2E_DIR"' EXIT
  e2e_pki "$E2E_DIR" || exit 1
  e2e_vhosts "$E2E_DIR"
  e2e_start "$1" "$E2E_DIR/demo.vhosts" "$E2E_DIR/server.log" "${@:2}" || exit 1
  E2E_TLS=$(e2e_port web) && E2E_PLAIN=$(e2e_port plain) || { echo "no ports reported" >&2; exit 1; }
}

# e2e_curl ARGS...: prints "STATUS REASON" (REASON from misdirect-reason, '-'
# if none); the body is in $E2E_DIR/body, the headers in $E2E_DIR/headers.
e2e_curl() {
  local code reason
  code=$(curl -sS -m 5 --cacert "$E2E_DIR/ca.pem" -o "$E2E_DIR/body" -D "$E2E_DIR/headers" \
    -w '%{http_code}' "$@" 2>"$E2E_DIR/curl.err") || code="curl-exit-$?"
  reason=$(tr -d '\r' <"$E2E_DIR/headers" 2>/dev/null | sed -n 's/^misdirect-reason: *//Ip' | tail -1)
  echo "$code ${reason:--}"
}

# e2e_header NAME: value of a response header of the last e2e_curl.
e2e_header() {
  tr -d '\r' <"$E2E_DIR/headers" | sed -n "s/^$1: *//Ip" | tail -1
}
