#!/usr/bin/env bash
# Set up nianbao on a fresh Debian machine: system packages, the main venv, pywb's own venv.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: JS-built lists; redis-server: distributed crawls; LibreOffice: DOC/WPS/XLS attachments.
# python3-venv: Debian's python3 makes no venv (with pip) without it. fonts-wqy-zenhei: a CJK
# font, without which LibreOffice writes Chinese into a PDF as one glyph over and over (the tests
# make their PDF attachments with it).
apt_packages=(chromium redis-server libreoffice-writer-nogui libreoffice-calc-nogui python3-venv
  fonts-wqy-zenhei)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install with root: apt-get install ${missing[*]}" >&2
  fi
fi

# A venv whose python has no pip (made while python3-venv was missing) is made again.
make_venv() {
  if ! { [ -x "$1/bin/python" ] && "$1/bin/python" -m pip --version >/dev/null 2>&1; }; then
    rm -rf "$1"
    python3 -m venv "$1" || {
      echo "setup: python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
      exit 1
    }
  fi
}

# The crawler's environment.
make_venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null || true  # an old pip still works
.venv/bin/python -m pip install -q -e '.[dev]'

# pywb pins an old redis that breaks scrapy-redis: it lives in its own environment, with py-wacz
# (which pulls frictionless) for `nianbao wacz`.
make_venv .venv-pywb
.venv-pywb/bin/python -m pip install -q --upgrade pip >/dev/null || true
.venv-pywb/bin/python -m pip install -q pywb wacz
still_missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || still_missing+=("$pkg")
done
if [ ${#still_missing[@]} -gt 0 ]; then
  echo "setup: ready, without ${still_missing[*]} (install them as root for JS-built lists," \
    "--redis and DOC/WPS/XLS attachments)" >&2
else
  echo "setup: ready (.venv for nianbao, .venv-pywb for pywb)"
fi
