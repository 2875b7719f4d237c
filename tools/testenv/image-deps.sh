#!/usr/bin/env bash
# Debian packages that `make image` (tools/image/build.sh) and tests/image need: buildah (builds and runs the image
# as root with --isolation chroot, no Docker engine), mmdebstrap (the Debian base), uidmap and fuse-overlayfs (buildah's
# usual companions; root with the kernel's overlay needs neither, STORAGE_DRIVER=vfs works where overlay does not),
# binutils is not needed here (strip runs inside the image's build stage). Installed with apt-get when missing.
set -euo pipefail
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v newuidmap >/dev/null || missing+=(uidmap)
command -v fuse-overlayfs >/dev/null || missing+=(fuse-overlayfs)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages: ${missing[*]} (run: apt-get install ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
