#!/usr/bin/env bash
# Installs everything Station needs to build, run and test on Debian 12. Idempotent: packages
# already installed are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang
  libboost-dev libboost-system-dev libssl-dev libsqlite3-dev sqlite3 libpq-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev libqrencode-dev libpng-dev libnet-smpp-perl asn1c
  libcurl4-openssl-dev python3-aiosmtpd libabsl-dev
  postgresql postgresql-contrib wrk curl openssl python3 procps util-linux
  chromium nodejs fonts-wqy-zenhei
)
# The portal's browser test: Chromium with a CJK font for the zh-CN pages, and npm for
# playwright-core. npm is Debian's package unless the installed nodejs brings its own (NodeSource
# builds do, and conflict with Debian's npm).
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
