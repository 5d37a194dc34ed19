#!/usr/bin/env bash
# scripts/test hook: clang-tidy over lib/ and adapters/ (cppcheck is a stage
# of its own); skipped when clang-tidy is not installed.
set -euo pipefail
root=${MDR_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)}
command -v clang-tidy >/dev/null || { echo "clang-tidy not installed"; exit 3; }
exec "$root/scripts/lint" clang-tidy
