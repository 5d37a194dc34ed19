#!/usr/bin/env bash
# tests/nginx/symbols.sh SO
#
# The module exports nginx's module symbols and nothing of misdirect: the
# static libraries linked into it stay internal (no mdr_* in `nm -D`), so
# another module or a shared libmisdirect in the same process cannot clash.

set -uo pipefail
so=${1:?usage: symbols.sh SO}
syms=$(nm -D --defined-only "$so" | awk '{print $NF}') || { echo "FAIL: nm -D $so" >&2; exit 1; }
grep -qx ngx_http_misdirect_module <<<"$syms" ||
  { echo "FAIL: $so does not export ngx_http_misdirect_module" >&2; exit 1; }
if grep '^mdr_' <<<"$syms" >&2; then
  echo "FAIL: $so exports the mdr_* symbols above" >&2
  exit 1
fi
echo "ok: $(wc -l <<<"$syms") exported symbols, none mdr_*"
