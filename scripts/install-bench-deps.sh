#!/usr/bin/env bash
# Installs the Debian packages the benchmarks compare against or build with (not needed by the tests, and CI does
# not run benchmarks): kamailio, the stateless SIP peer of bench/sip-transactions.bench.mjs (without it that
# benchmark measures our stack alone and says so), gcc and libspandsp-dev for the C harnesses in bench/c.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" kamailio gcc libspandsp-dev util-linux iproute2
