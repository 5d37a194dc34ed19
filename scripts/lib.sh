# Shared helpers for scripts/demo and scripts/test.  Sourced, never run.
#
# Provides:
#   MDR_ROOT             absolute path of the source tree (works from any cwd)
#   MDR_JOBS             parallel build jobs (default 2; the reference machine has 2 cores)
#   mdr_log / mdr_warn / mdr_die
#   mdr_ensure_packages PKG...   install the Debian packages that are missing
#   mdr_fresh_copy DEST          the source tree as a fresh clone has it (no build/)

MDR_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
MDR_JOBS=${MDR_JOBS:-2}

if [[ -t 1 ]]; then
  _mdr_bold=$'\033[1m' _mdr_red=$'\033[31m' _mdr_green=$'\033[32m' _mdr_yellow=$'\033[33m' _mdr_off=$'\033[0m'
else
  _mdr_bold='' _mdr_red='' _mdr_green='' _mdr_yellow='' _mdr_off=''
fi

mdr_log()  { printf '%s==> %s%s\n' "$_mdr_bold" "$*" "$_mdr_off"; }
mdr_warn() { printf '%swarning: %s%s\n' "$_mdr_yellow" "$*" "$_mdr_off" >&2; }
mdr_die()  { printf '%serror: %s%s\n' "$_mdr_red" "$*" "$_mdr_off" >&2; exit 1; }

# Is Debian package $1 installed?
_mdr_pkg_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == "install ok installed" ]]
}

# Run a command as root: directly when we are root, else through sudo when it
# exists and works without a password prompt on a terminal we do not have.
_mdr_as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 127
  fi
}

# mdr_ensure_packages PKG...
# Installs, with apt-get, those of the given Debian packages that are not
# installed yet.  `apt-get update` runs at most once per process, and only
# when something is missing, so a rerun on a prepared machine costs nothing.
# Set MDR_NO_INSTALL=1 to skip (then missing packages are only reported).
_mdr_apt_updated=0
mdr_ensure_packages() {
  local missing=() pkg
  if ! command -v dpkg-query >/dev/null 2>&1; then
    mdr_warn "not a Debian system: cannot check packages ($*); continuing with what is installed"
    return 0
  fi
  for pkg in "$@"; do
    _mdr_pkg_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ ${MDR_NO_INSTALL:-0} == 1 ]]; then
    mdr_warn "missing packages (MDR_NO_INSTALL=1, not installing): ${missing[*]}"
    return 0
  fi
  mdr_log "installing missing packages: ${missing[*]}"
  if [[ $_mdr_apt_updated == 0 ]]; then
    _mdr_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
      mdr_die "apt-get update failed (are you root, or is sudo available?)"
    _mdr_apt_updated=1
  fi
  _mdr_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null ||
    mdr_die "apt-get install failed for: ${missing[*]}"
}

# Packages every build needs (compiler, CMake, libc headers, pkg-config).
MDR_BUILD_PACKAGES=(cmake make gcc libc6-dev pkg-config)

# mdr_fresh_copy DEST
# Copies the source tree into DEST (created) the way a fresh clone has it:
# tracked files plus untracked ones git does not ignore, as they are in the
# working tree, and no build folders.  Outside a git checkout (a tarball),
# everything but build*/ folders.  Used to check the README's promises on a
# tree that has never been built.
mdr_fresh_copy() {
  local dest=$1
  mkdir -p "$dest" || return 1
  if git -C "$MDR_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$MDR_ROOT" && git ls-files -z --cached --others --exclude-standard |
      tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$dest"
  else
    (cd "$MDR_ROOT" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$dest"
  fi
}
