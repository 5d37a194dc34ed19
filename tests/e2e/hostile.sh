#!/usr/bin/env bash
# e2e: misdirect-server under hostile clients (issue 12 section 8).
# - slow loris: 70 connections trickling a request head a byte at a time
#   must not keep a fresh client out (the connection table is bounded and
#   the connection longest without an answered request is evicted), and a
#   head that is not complete within --head-timeout is closed;
# - 100 KB of request headers get a 431 over TLS HTTP/1.1 and cleartext,
#   and over h2 / h2c too (50 KB there: curl's nghttp2 will not send a
#   header block over 64 KB);
# every case is also asserted on the server's log.
# Usage: hostile.sh SERVER
set -u
source "${BASH_SOURCE[0]%/*}/e2e-lib.sh"
e2e_require curl openssl
HEAD_TIMEOUT=4
e2e_setup "$1" --head-timeout "$HEAD_TIMEOUT"
T=$E2E_TLS P=$E2E_PLAIN
R=(--resolve "www.example.com:$T:127.0.0.1")
LOG=$E2E_DIR/server.log

# wait_log COUNT PATTERN: up to 5 s for COUNT lines of the log to match.
wait_log() {
  local i
  for ((i = 0; i < 100; i++)); do
    (($(grep -c -- "$2" "$LOG") >= $1)) && return 0
    sleep 0.05
  done
}

# ------------------------------------------------------ oversize headers --
# big N: curl -H arguments for N header fields of 1000 bytes each.
big() {
  local i
  for ((i = 1; i <= $1; i++)); do printf -- '-H\nX-Pad-%d: %01000d\n' "$i" 0; done
}
mapfile -t B100 < <(big 100)
mapfile -t B50 < <(big 50)
for k in 1 2 3; do # a reset instead of a status came and went with timing: try more than once
  e2e_expect "TLS HTTP/1.1, 100 KB of headers (try $k)" "431 head-too-large" \
    "$(e2e_curl "${R[@]}" --http1.1 "${B100[@]}" "https://www.example.com:$T/")"
done
e2e_expect "cleartext HTTP/1.1, 100 KB of headers" "431 head-too-large" \
  "$(e2e_curl --http1.1 -H "Host: other.org:$P" "${B100[@]}" "http://127.0.0.1:$P/")"
e2e_expect "h2, 50 KB of headers" "431 head-too-large" \
  "$(e2e_curl "${R[@]}" --http2 "${B50[@]}" "https://www.example.com:$T/")"
e2e_expect "h2 negotiated" "HTTP/2 431" "$(head -1 "$E2E_DIR/headers" | tr -d '\r' | sed 's/ *$//')"
e2e_expect "h2c, 50 KB of headers" "431 head-too-large" \
  "$(e2e_curl --http2-prior-knowledge -H "Host: other.org:$P" "${B50[@]}" "http://127.0.0.1:$P/")"
# The 431 answers one stream; the connection goes on (curl reuses it).
e2e_expect "h2: 431, then 200 on the same connection" "431 200 0" \
  "$(curl -sS -m 5 --cacert "$E2E_DIR/ca.pem" "${R[@]}" --http2 -o /dev/null -w '%{http_code} ' \
      "${B50[@]}" "https://www.example.com:$T/" --next "${R[@]}" --http2 --cacert "$E2E_DIR/ca.pem" \
      -o /dev/null -w '%{http_code} %{num_connects}' "https://www.example.com:$T/" 2>&1)"
e2e_expect "log: every 431 as a refusal with its reason" "7" \
  "$(grep -c ' refused conn=[0-9]* listener=[a-z]* -> 431 reason=head-too-large ' "$LOG")"

# ------------------------------------------------------------- slow loris --
# 70 connections to the cleartext port, each sending a request head one
# byte per round (0.1 s), never finishing it.  Bounded: 100 rounds.
(
  trap '' PIPE
  fds=()
  for ((i = 0; i < 70; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$P" && fds+=("$fd")
  done
  echo "${#fds[@]}" >"$E2E_DIR/loris.open"
  for ((r = 0; r < 100; r++)); do
    for fd in "${fds[@]}"; do printf 'G' >&"$fd"; done 2>/dev/null
    sleep 0.1
  done
) &
LORIS=$!
for ((i = 0; i < 100; i++)); do [[ -s $E2E_DIR/loris.open ]] && break; sleep 0.05; done
e2e_expect "slow loris: connections opened" "70" "$(cat "$E2E_DIR/loris.open" 2>/dev/null)"
sleep 0.5 # a few bytes into every head
t0=$EPOCHREALTIME
e2e_expect "a fresh client is served while 70 connections trickle" "200 serve" \
  "$(e2e_curl -m 5 -H "Host: other.org:$P" "http://127.0.0.1:$P/fresh")"
echo "       (served in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}') s)"
# Served because a trickler was evicted for it, not because the head
# deadline had already closed tricklers: the decision precedes every
# head-timeout line (timing-independent, unlike a wall-clock bound).
e2e_expect "... before any head deadline expired (eviction, not the timeout)" "decision" \
  "$(grep -m1 -o -e ' decision conn=[0-9]* listener=plain .*target=/fresh ' -e ' reason=head-timeout' "$LOG" | awk '{print $1}' | sed 's/reason=head-timeout/head-timeout/')"
evicted=$(sed -n 's/.* closed conn=\([0-9]*\) listener=plain reason=evicted .*/\1/p' "$LOG")
e2e_expect "log: connections evicted for the newcomers" "yes" "$([[ -n $evicted ]] && echo yes || echo no)"
e2e_expect "log: only tricklers were evicted (no evicted connection had a request answered)" "0" \
  "$(for id in $evicted; do grep -c " decision conn=$id " "$LOG"; done | awk '{s += $1} END {print s + 0}')"
wait_log 1 ' closed conn=[0-9]* listener=plain reason=head-timeout '
e2e_expect "log: a head not complete within --head-timeout is closed" "yes" \
  "$(grep -q " closed conn=[0-9]* listener=plain reason=head-timeout (request head not complete within ${HEAD_TIMEOUT}s)" "$LOG" && echo yes || echo no)"
kill "$LORIS" 2>/dev/null
wait "$LORIS" 2>/dev/null
e2e_expect "served after the slow loris" "200 serve" \
  "$(e2e_curl -H "Host: other.org:$P" "http://127.0.0.1:$P/")"
e2e_finish
