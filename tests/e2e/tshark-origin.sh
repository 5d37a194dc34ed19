#!/usr/bin/env bash
# e2e: tshark decodes our ORIGIN frame (field http2.origin.origin) from a
# loopback capture of a TLS HTTP/2 connection, decrypted with the TLS key
# log curl writes (SSLKEYLOGFILE).  Usage: tshark-origin.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
if ! command -v tshark >/dev/null 2>&1 && [[ $(id -u) -eq 0 && ${MDR_NO_INSTALL:-0} != 1 ]] &&
  command -v apt-get >/dev/null 2>&1; then
  echo "installing tshark (DEBIAN_FRONTEND=noninteractive)"
  DEBIAN_FRONTEND=noninteractive timeout 60 apt-get install -y -q tshark </dev/null >/dev/null 2>&1
fi
e2e_require tshark dumpcap curl timeout openssl
e2e_setup "$1"
T=$E2E_TLS
CAP=$E2E_DIR/lo.pcapng KEYS=$E2E_DIR/keys.log

# Capture loopback traffic to the TLS port (bounded: 20 s at most).
timeout 25 dumpcap -i lo -f "tcp port $T" -a duration:20 -w "$CAP" >"$E2E_DIR/dumpcap.log" 2>&1 &
DPID=$!
for ((i = 0; i < 100; i++)); do
  grep -q 'Capturing on' "$E2E_DIR/dumpcap.log" 2>/dev/null && break
  kill -0 $DPID 2>/dev/null || break
  sleep 0.05
done
if ! grep -q 'Capturing on' "$E2E_DIR/dumpcap.log"; then
  cat "$E2E_DIR/dumpcap.log"
  kill $DPID 2>/dev/null
  echo "FAIL: dumpcap could not capture on lo"
  exit 1
fi
sleep 0.3
for sni in blog.example.com other.org; do
  SSLKEYLOGFILE=$KEYS curl -sS -m 5 --http2 --cacert "$E2E_DIR/ca.pem" \
    --resolve "$sni:$T:127.0.0.1" -o /dev/null "https://$sni:$T/"
done
sleep 0.5
kill -INT $DPID 2>/dev/null
wait $DPID 2>/dev/null

decode() {
  timeout 60 tshark -r "$CAP" -o "tls.keylog_file:$KEYS" -d "tcp.port==$T,tls" \
    -Y 'http2.type == 12' -T fields -E separator='|' "$@" 2>/dev/null
}
lines=$(decode -e http2.streamid -e http2.flags -e http2.length -e http2.origin.origin)
echo "--- tshark: our ORIGIN frames (stream|flags|length|origins) ---"
echo "$lines"
e2e_expect "two ORIGIN frames decoded" "2" "$(printf '%s\n' "$lines" | grep -c .)"
# The connection's own name first (since 0.3.0: what a cap on the set keeps).
e2e_expect "SNI blog.example.com frame" \
  "0|0x00|90|https://blog.example.com:$T,https://www.example.com:$T,https://example.com:$T" \
  "$(printf '%s\n' "$lines" | grep blog | sed 's/0x0*0\b/0x00/')"
e2e_expect "SNI other.org frame" "0|0x00|$((2 + ${#T} + 18))|https://other.org:$T" \
  "$(printf '%s\n' "$lines" | grep -v blog | sed 's/0x0*0\b/0x00/')"
e2e_finish
