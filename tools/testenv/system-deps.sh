#!/usr/bin/env bash
# Debian packages the tests need: docker-registry (the local OCI registry), git (ct) and chromium (dashboard tests). Installed with apt-get when
# missing; the registry's own service is kept from starting (it would listen on :5000 on all interfaces).
set -euo pipefail
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v git >/dev/null || missing+=(git)
command -v chromium >/dev/null || missing+=(chromium)  # the dashboard's browser tests (headless, driven by playwright)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages: ${missing[*]} (run: apt-get install ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "installing Debian packages: ${missing[*]}" >&2
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# In case a service was started anyway (no policy-rc.d support): stop it, our tests run their own instances.
$SUDO /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
