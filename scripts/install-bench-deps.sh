#!/usr/bin/env bash
# Installs the Debian packages the benchmarks compare against (not needed by the tests, and CI does not run
# benchmarks): kamailio, the stateless SIP peer of bench/sip-transactions.bench.mjs. Without it that benchmark
# measures our stack alone and says so.
set -euo pipefail
packages=(kamailio util-linux iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench packages: all present (${packages[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
