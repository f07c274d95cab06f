#!/usr/bin/env bash
# Rebuilds kiosk/ui/fonts/KioskSansSC-Regular.otf (see make-kiosk-font.py). Needs Debian's
# fonts-noto-cjk (the source font, 91 MB) and fonttools, installed here if missing; they are
# not needed to build or test the kiosk, which uses the committed subset.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pkg in fonts-noto-cjk fonttools; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's python, which has the fonttools package (a pyenv or venv python may not).
exec /usr/bin/python3 scripts/make-kiosk-font.py
