#!/usr/bin/env bash
# scripts/test hook: the portable fallback.  Builds misdirect with
# -DMDRI_SCALAR_ONLY (no SSE2: the authority scan, the label check, the key
# compare and the target check take their byte loops) and -DMDRI_NO_PREFETCH,
# gcc, Release, -Werror, and runs the unit and case tests against it, so the
# code that non-x86 machines run is the code the tests pass.
set -euo pipefail
root=${MDR_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)}
build=${MDR_BUILD_ROOT:-$root/build}/scalar
jobs=${MDR_JOBS:-2}
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
  -DMISDIRECT_WERROR=ON -DMISDIRECT_SANITIZE= \
  -DCMAKE_C_FLAGS="-DMDRI_SCALAR_ONLY -DMDRI_NO_PREFETCH" >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null
# The build must really be the scalar one: the files with SSE2 paths
# (authority.c, lookup.c, decide.c) have no byte compare left.  (The normal
# build has dozens in each; the compiler may still vectorise loops elsewhere.)
simd=$(objdump -d "$build/lib/libmisdirect.a" |
  awk '/file format/ { f = $1 } /pcmp(eq|gt)b/ && f ~ /^(authority|lookup|decide)\.c\.o:$/ { n++ }
       END { print n + 0 }')
if ((simd != 0)); then
  echo "scalar.sh: $simd SSE2 byte compares in the MDRI_SCALAR_ONLY build" >&2
  exit 1
fi
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$jobs" -L '^(unit|cases)$'
