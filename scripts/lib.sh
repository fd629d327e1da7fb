# shellcheck shell=bash
# Shared helpers for the provisioning scripts in this folder.
# Source it; do not execute it.
#
#   CACHE        root of everything we build/download, always OUTSIDE the repo:
#                ${METAL_AGENT_CACHE:-$HOME/.cache/metal-agent}
#   log MSG      progress message to stderr (stdout is reserved for results)
#   die MSG      error to stderr, exit 1
#   ensure_venv_support      make sure `python3 -m venv` (with pip) works,
#                            apt-get installing python3-venv if we are root
#   make_venv DIR            (re)create a venv at DIR with a pinned pip
#   venv_ready/venv_done     completion stamp for a venv
#   with_lock NAME CMD...    run CMD under an exclusive flock on $CACHE/locks/NAME

CACHE="${METAL_AGENT_CACHE:-$HOME/.cache/metal-agent}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd -P)"
export CACHE

# No "new pip available" notices; everything pip needs comes from PyPI.
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pip inside our venvs (the host pip may be old or Debian-patched).
PIP_PIN="${PIP_PIN:-26.3}"

# Host python used to create venvs (override with PYTHON=/path/to/python3).
PYTHON="${PYTHON:-python3}"

# apt_install PKG...: install Debian packages if we can (root + apt-get).
apt_install() {
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "missing system packages: $* (install them, e.g. 'sudo apt-get install -y $*')"
    fi
    apt_update_once
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
# A fresh machine has an empty package index: update it once per run.
apt_update_once() {
    if [[ -z "${_APT_UPDATED:-}" ]]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        _APT_UPDATED=1
    fi
}

# Debian's python3 comes without venv/ensurepip (package python3-venv, which
# pulls in python3.X-venv for the default python3).
ensure_venv_support() {
    command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3 python3-venv
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        local ver pkgs=(python3-venv)
        ver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        # If $PYTHON is not the default python3, its own python3.X-venv is needed.
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            apt_update_once
            if apt-cache show "python${ver}-venv" >/dev/null 2>&1; then
                pkgs+=("python${ver}-venv")
            fi
        fi
        apt_install "${pkgs[@]}"
        "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 \
            || die "$PYTHON still cannot create venvs (no venv/ensurepip module)"
    fi
}

# make_venv DIR: (re)create a venv at DIR. venv scripts hard-code their own
# path, so it is built in place; callers mark completion with a stamp file
# (see venv_ready/venv_done) so a half-made venv is never reused.
make_venv() {
    local dir="$1"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir" >&2
    "$dir/bin/python" -m pip install -q --upgrade "pip==$PIP_PIN" >&2
}

# venv_ready DIR SPEC: true if DIR was completely provisioned with SPEC.
venv_ready() { [[ -x "$1/bin/python" && -f "$1/.provisioned" && "$(cat "$1/.provisioned")" == "$2" ]]; }
# venv_done DIR SPEC: record that DIR is completely provisioned with SPEC.
venv_done() { printf '%s' "$2" >"$1/.provisioned"; }

# with_lock NAME CMD...: serialize concurrent provisioning of the same thing.
with_lock() {
    local name="$1"; shift
    mkdir -p "$CACHE/locks"
    if command -v flock >/dev/null 2>&1; then
        (
            flock -x 9
            "$@"
        ) 9>"$CACHE/locks/$name.lock"
    else
        "$@"
    fi
}

# short_hash STRING: 10 hex chars of sha256, stable across machines.
short_hash() { printf '%s' "$1" | sha256sum | cut -c1-10; }
