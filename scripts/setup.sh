#!/usr/bin/env bash
# Set up nianbao on a fresh Debian machine: system packages, the main venv, pywb's own venv.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: JS-built lists; redis-server: distributed crawls; LibreOffice: DOC/WPS/XLS attachments.
apt_packages=(chromium redis-server libreoffice-writer-nogui libreoffice-calc-nogui)
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

# The crawler's environment.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'

# pywb pins an old redis that breaks scrapy-redis: it lives in its own environment, with py-wacz
# (which pulls frictionless) for `nianbao wacz`.
[ -x .venv-pywb/bin/python ] || python3 -m venv .venv-pywb
.venv-pywb/bin/python -m pip install -q --upgrade pip >/dev/null
.venv-pywb/bin/python -m pip install -q pywb wacz
echo "setup: ready (.venv for nianbao, .venv-pywb for pywb)"
