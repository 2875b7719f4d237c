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
"$(dirname "$0")/apt-install.sh" ${missing[@]+"${missing[@]}"}
