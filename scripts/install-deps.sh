#!/usr/bin/env bash
# Installs every Debian 12 package signet needs to build, test and demo.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libp11-kit-dev libcmocka-dev libsodium-dev
  zlib1g-dev openssl curl git zip unzip python3 signapk
  age openssh-client apksigner zipalign opensc softhsm2 libengine-pkcs11-openssl
  e2fsprogs erofs-utils
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "signet: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
fi
