#!/usr/bin/env bash
# Set up everything kwsgen needs on a Debian/Ubuntu machine: the Debian
# packages its C checks use (installed only where missing, without
# recommends), then a virtual environment with kwsgen and its test tools.
# Usage: host_tools/scripts/setup.sh [VENV_DIR]
set -euo pipefail

venv="${1:-.venv}"
python="${PYTHON:-python3}"

# command -> Debian package
declare -A needed=(
    [arm-none-eabi-gcc]=gcc-arm-none-eabi
    [qemu-system-arm]=qemu-system-arm
    [cc]=gcc
    [cmake]=cmake
    [espeak-ng]=espeak-ng # kwsgen train says each keyword's confusable words in synthetic voices
    [npm]=npm             # installs kwsgen studio's front-end libraries from the npm registry
    [chromium]=chromium   # the studio's end-to-end tests drive a real headless browser ...
    [chromedriver]=chromium-driver # ... through Selenium
)
missing=()
for cmd in "${!needed[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# newlib's nano specs are what the Cortex-M4 builds link against.
if command -v arm-none-eabi-gcc >/dev/null 2>&1 &&
    ! arm-none-eabi-gcc -print-file-name=nano.specs | grep -q /; then
    missing+=(libnewlib-arm-none-eabi)
elif [[ " ${missing[*]} " == *" gcc-arm-none-eabi "* ]]; then
    missing+=(libnewlib-arm-none-eabi)
fi
# libsndfile backs the soundfile package on some platforms.
if ! ldconfig -p 2>/dev/null | grep -q libsndfile; then
    missing+=(libsndfile1)
fi

if ((${#missing[@]})); then
    echo "kwsgen setup: installing Debian packages: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "kwsgen setup: not root and no sudo; run as root:" >&2
        echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[dev]'
# kwsgen studio's page loads wavesurfer.js from here (pinned by package-lock.json; never committed).
npm ci --prefix kwsgen/studio/web --no-audit --no-fund --loglevel=error
echo "kwsgen setup: ready ($("$venv/bin/kwsgen" --version))"
