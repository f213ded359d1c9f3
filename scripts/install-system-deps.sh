#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (third-party SIP peers, the C codec reference, audio tools).
# Tests that need one of these skip with a message naming this script when it is absent; CI runs it so none skip.
set -euo pipefail
packages=(sipsak baresip libspandsp-dev ffmpeg sox iproute2 util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
