#!/usr/bin/env bash
# Install the Debian packages LabDesk's tests need (PostgreSQL, CUPS, poppler, fonts, Qt libs).
# Safe to re-run: does no apt work when everything is already installed.
set -euo pipefail

PACKAGES=(
    postgresql
    cups cups-client cups-bsd
    poppler-utils
    fonts-dejavu-core fonts-noto-cjk
    libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libglib2.0-0
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages: all ${#PACKAGES[@]} already installed"
    exit 0
fi

echo "system packages: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
