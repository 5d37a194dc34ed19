#!/usr/bin/env bash
# scripts/test hook: every libFuzzer target for a bounded short time
# (MISDIRECT_FUZZ_SECONDS, default 20 s each; skipped without clang).
set -euo pipefail
root=${MDR_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)}
command -v clang >/dev/null || { echo "clang not installed"; exit 3; }
exec "$root/scripts/fuzz" "${MISDIRECT_FUZZ_SECONDS:-20}"
