#!/usr/bin/env bash
# apt-get install the Debian packages given as arguments (with sudo when not root). No package service is started
# while they install (a policy-rc.d that refuses): the tests run their own instances on 127.0.0.1.
set -euo pipefail
[ $# -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages: $* (run: apt-get install $*)" >&2; exit 1; }
  SUDO=sudo
fi
echo "installing Debian packages: $*" >&2
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
