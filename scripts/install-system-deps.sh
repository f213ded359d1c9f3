#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (third-party SIP peers, the C codec reference, audio tools).
# Tests that need one of these skip with a message naming this script when it is absent; CI runs it so none skip.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" sipsak baresip libspandsp-dev ffmpeg sox iproute2 util-linux
