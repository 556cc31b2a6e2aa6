#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with the fonts that render Thai, Hangul and Han
# (without them those scripts show as empty boxes). Installed from Debian's packages, never
# downloaded by a test tool. Needs root or sudo the first time; does nothing once installed.
set -euo pipefail
packages=(chromium fonts-noto-cjk fonts-thai-tlwg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing ${missing[*]} from Debian's packages for the browser tests ..."
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q "${missing[@]}"
