#!/usr/bin/env bash
# Installs what building and testing cyclegan needs, from Debian's packages, and any packages named
# as arguments (scripts/test_arm64.sh adds the cross toolchain). Safe to run again: it only calls
# apt-get when something is missing.
set -euo pipefail

packages=(build-essential cmake libeigen3-dev doctest-dev libstb-dev libcli11-dev libtiff-dev python3-torch python3-numpy python3-pil "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
