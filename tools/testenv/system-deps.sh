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
"$(dirname "$0")/apt-install.sh" "${missing[@]}"
# In case a service was started anyway (no policy-rc.d support): stop it, our tests run their own instances.
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
