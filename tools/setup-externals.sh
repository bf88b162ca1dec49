#!/usr/bin/env bash
# Install the external tools that dlnsys cross-checks against (recipes and gotchas: tools/EXTERNAL-TOOLS.md):
#   apt     Debian packages: xppaut, auto-07p + gfortran (AUTO links every model with gfortran),
#           swig (PyDSTool's compiled integrators), chromium + chromium-driver (headless gallery checks),
#           nodejs (runs the emitted JavaScript models in tests/test_emit_javascript.py)
#   venv39  .venv39: Python 3.9 + pinned PyDSTool (PyDSTool 0.91 does not import on Python >= 3.10
#           nor with numpy >= 1.20)
#   gallery_assets  Plotly's gl3d partial bundle (npm registry, sha512-checked) into ~/.cache/dlnsys/js:
#           `dlnsys gallery assets`; the gallery's 3-D pages ship it instead of the full plotly.js
# (selenium, which drives Debian's chromium through Debian's chromedriver with no browser download,
#  is in the `test` extra of pyproject.toml.)
#
# Failure policy, on purpose:
#   CI=true   any failed step is fatal (exit 1): CI must really run the cross-checks.
#   otherwise a failed step prints ONE line "SKIPPED <step>: <reason>", the other steps still run and
#             we exit 0, so `make test` goes on and the tests needing that tool skip with a reason.
# Every step checks its own stamp, so a second run takes well under a second.
set -euo pipefail

cd "$(dirname "$0")/.."
LOG=${DLNSYS_EXTERNALS_LOG:-${TMPDIR:-/tmp}/dlnsys-externals.log}
: >"$LOG"

APT_PACKAGES=(xppaut auto-07p gfortran swig chromium chromium-driver nodejs)
# setuptools<60: newer setuptools replaces distutils, which numpy 1.19's numpy.distutils (used by
# PyDSTool to compile Dopri/Radau) does not expect; the 3.9.18 venv ships 58.1 anyway, this pins it.
PY39_PINS=(numpy==1.19.5 scipy==1.6.3 pydstool==0.91.0 "setuptools<60")

say() { printf 'setup-externals: %s\n' "$*"; }
# run a noisy command with its output in the log; on failure its last log line becomes the reason
quiet() { "$@" >>"$LOG" 2>&1 || { echo "'$*' failed: $(tail -n 1 "$LOG")" >&2; return 1; }; }
# mirrors occasionally hiccup: one retry after a pause
retry() { quiet "$@" || { sleep 10; quiet "$@"; }; }

step_apt() {
    local missing=() p sudo=""
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then say "Debian packages already installed"; return 0; fi
    if [ "$(id -u)" -ne 0 ]; then
        # never prompt for a password: CI has no stdin
        sudo -n true 2>/dev/null || { echo "need root or password-less sudo to apt-get install ${missing[*]}" >&2; return 1; }
        sudo="sudo -n"
    fi
    say "apt-get install ${missing[*]}"
    # update first: a fresh machine has stale or empty package lists
    retry $sudo apt-get update -q
    retry $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

find_python39() {
    # pyenv's 3.9 (this machine image ships 3.9.18); Debian 12 has no python3.9 package.
    local root cand
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for cand in "${DLNSYS_PYTHON39:-}" "$root"/versions/3.9.18/bin/python "$root"/versions/3.9.*/bin/python \
                "$(command -v python3.9 || true)"; do
        [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null \
            && { echo "$cand"; return 0; }
    done
    return 1
}

step_venv39() {
    local stamp=.venv39/.stamp want="${PY39_PINS[*]}" py
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv39/bin/python ]; then
        say ".venv39 (PyDSTool) up to date"; return 0
    fi
    if ! py=$(find_python39); then
        # pyenv install downloads CPython from python.org: it fails at once where only PyPI and Debian
        # are reachable, but on a machine with a network it gets us there.
        say "no Python 3.9 found; trying 'pyenv install -s 3.9.18'"
        if command -v pyenv >/dev/null; then timeout 1200 pyenv install -s 3.9.18 >>"$LOG" 2>&1 || true; fi
        py=$(find_python39) || { echo "no Python 3.9 (looked in pyenv versions/3.9.*; pyenv install failed offline; set DLNSYS_PYTHON39=/path/to/python3.9)" >&2; return 1; }
    fi
    say "creating .venv39 with $py: ${PY39_PINS[*]}"
    rm -rf .venv39
    quiet "$py" -m venv .venv39
    retry .venv39/bin/python -m pip install --disable-pip-version-check "${PY39_PINS[@]}"
    quiet .venv39/bin/python -c 'import PyDSTool'
    echo "$want" >"$stamp"
}

failed=0
run() {  # run one step in a subshell with errexit on, time it, apply the failure policy
    local name=$1 rc start=$SECONDS reason
    set +e
    ( set -e; "step_$name" ) 2>>"$LOG.err"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        reason=$(tail -n 1 "$LOG.err" 2>/dev/null); [ -n "$reason" ] || reason="exit status $rc"
        say "SKIPPED $name: $reason (log: $LOG)"
        failed=1
    elif [ $((SECONDS - start)) -gt 1 ]; then
        say "$name done in $((SECONDS - start)) s"
    fi
    cat "$LOG.err" >>"$LOG" 2>/dev/null || true
    rm -f "$LOG.err"
}

step_gallery_assets() {
    # Plotly's gl3d partial bundle for the gallery (the size test of tests/test_gallery.py needs it)
    local out
    out=$(.venv/bin/dlnsys gallery assets 2>&1) || { echo "${out##*$'\n'}" >&2; return 1; }
    say "${out##*$'\n'}"
}

run apt
run venv39
run gallery_assets

if [ $failed -ne 0 ]; then
    if [ "${CI:-}" = "true" ]; then
        say "FAILED, and CI=true makes that fatal. Last lines of $LOG:"
        tail -n 40 "$LOG" >&2
        exit 1
    fi
    say "continuing without the skipped tools; the tests that need them will skip"
fi
exit 0
