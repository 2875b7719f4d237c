#!/usr/bin/env bash
# Build the kcd image without a Docker engine: buildah (chroot isolation, as root) from the repository's Dockerfile,
# on a Debian bookworm base that mmdebstrap makes from Debian's packages, with the Python dependencies built into wheels
# here (pip wheel) and installed in the image with --no-index. See docs/image.md.
#
#   tools/image/build.sh              # -> $KCD_IMAGE (default localhost/kcd:dev) in buildah's storage
#
# Environment:
#   KCD_IMAGE                  image name (default localhost/kcd:dev)
#   KCD_IMAGE_CACHE            base tarballs (default ~/.cache/kcd/image)
#   KCD_IMAGE_BASE_MAX_AGE     days before the cached base is made again, for Debian's updates (default 7)
#   KCD_DEBIAN_MIRROR          default http://deb.debian.org/debian (…-security beside it: KCD_DEBIAN_SECURITY)
#   PYTHON                     a Python 3.11 whose pip builds the wheels (default python3)
#   STORAGE_DRIVER             buildah's storage driver (e.g. vfs where overlay does not work)
# The apt proxy settings of this machine (Acquire::*::Proxy) are passed on to mmdebstrap.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${KCD_IMAGE:-localhost/kcd:dev}
CACHE=${KCD_IMAGE_CACHE:-$HOME/.cache/kcd/image}
MAX_AGE=${KCD_IMAGE_BASE_MAX_AGE:-7}
MIRROR=${KCD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${KCD_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
PYTHON=${PYTHON:-python3}
SUITE=bookworm
# python3 is 3.11 in bookworm; ca-certificates for registries' TLS. Nothing else: no compiler, no pip.
PACKAGES=python3,ca-certificates
WHEELS=$ROOT/tools/image/wheelhouse

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

for tool in buildah mmdebstrap; do
    command -v "$tool" >/dev/null || die "$tool is missing: run tools/testenv/image-deps.sh (apt-get install buildah mmdebstrap)"
done
[ "$(id -u)" = 0 ] || die "run as root (buildah --isolation chroot and mmdebstrap's root mode)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$PYTHON is not Python 3.11: the wheels must match the image's python3.11 (set PYTHON=python3.11)"

start=$SECONDS
mkdir -p "$CACHE"

# 1. The base: a minimal Debian with python3, made once and kept as a tarball and as a buildah image.
mm_opts=(
    --variant=minbase --include="$PACKAGES"
    # merged /usr set up by mmdebstrap itself; otherwise apt pulls usrmerge and with it perl (+47 MB)
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*'
    --dpkgopt='path-exclude=/usr/share/zoneinfo/right/*'
)
mirrors=(
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main"
)
key=$(printf '%s\n' "$SUITE" "${mm_opts[@]}" "${mirrors[@]}" | sha256sum | cut -c1-12)
base_tar=$CACHE/base-$SUITE-$key.tar
base_image=localhost/kcd-base:$SUITE-$key

if [ -f "$base_tar" ] && [ -z "$(find "$base_tar" -mtime +"$MAX_AGE")" ]; then
    log "base: cached $base_tar"
else
    log "base: mmdebstrap $SUITE ($PACKAGES) -> $base_tar"
    apt_opts=()
    while IFS= read -r line; do apt_opts+=(--aptopt="$line"); done \
        < <(apt-config dump 2>/dev/null | grep -iE '^Acquire::(https?|ftp)::Proxy' || true)
    t=$SECONDS
    mmdebstrap --mode=root --format=tar "${mm_opts[@]}" "${apt_opts[@]}" "$SUITE" "$base_tar.tmp" "${mirrors[@]}" \
        >"$CACHE/mmdebstrap.log" 2>&1 || { tail -n 30 "$CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
    mv "$base_tar.tmp" "$base_tar"
    buildah rmi "$base_image" >/dev/null 2>&1 || true
    log "base: made in $((SECONDS - t)) s"
fi
if ! buildah inspect --type image "$base_image" >/dev/null 2>&1; then
    log "base: importing into buildah as $base_image"
    ctr=$(buildah from --quiet scratch)
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    buildah add --quiet "$ctr" "$base_tar" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
        --cmd /bin/sh --label org.opencontainers.image.title="kcd-base" "$ctr"
    buildah commit --quiet --rm "$ctr" "$base_image" >/dev/null
    trap - EXIT
fi

# 2. The wheels: kcd's dependency closure for cp311 x86_64, built here (the build container's pip could not verify this
#    machine's package proxy), pinned to the versions of .venv when there is one (the versions the tests ran with).
t=$SECONDS
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# The build context: a clean copy of what the Dockerfile copies (no bytecode or editor files of a busy work tree, so
# buildah's layer cache sees only real changes).
cp -a "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/kcd" "$ROOT/sidecar" "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
: > "$src/constraints.txt"
if [ -x "$ROOT/.venv/bin/python" ]; then
    "$ROOT/.venv/bin/python" -m pip freeze --exclude-editable 2>/dev/null | grep -v '^-e ' > "$src/constraints.txt" || true
fi
# Made again only when the dependencies, their pins or the Python change: unchanged wheels keep buildah's layer cache.
wheels_key=$( { sed -n '/^dependencies = \[/,/^\]/p' "$ROOT/pyproject.toml"; cat "$src/constraints.txt"; "$PYTHON" -VV; } \
    | sha256sum | cut -c1-16)
if [ "$(cat "$WHEELS/.key" 2>/dev/null)" = "$wheels_key" ] && compgen -G "$WHEELS/pip-*.whl" >/dev/null; then
    log "wheels: unchanged ($(find "$WHEELS" -name '*.whl' | wc -l) in tools/image/wheelhouse)"
else
    log "wheels: pip wheel -> tools/image/wheelhouse"
    find "$WHEELS" -name '*.whl' -delete
    rm -f "$WHEELS/.key"
    "$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELS" -c "$src/constraints.txt" \
        "$src" pip "setuptools>=68" wheel 2>"$src/pip.log" || { cat "$src/pip.log" >&2; exit 1; }
    rm -f "$WHEELS"/kcd-*.whl  # kcd itself is built from the sources inside the image
    echo "$wheels_key" > "$WHEELS/.key"
    log "wheels: $(find "$WHEELS" -name '*.whl' | wc -l) in $((SECONDS - t)) s"
fi

# 3. The image.
log "build: $IMAGE from $base_image"
mkdir -p "$src/tools/image"
cp -a "$ROOT/tools/image/pip.sh" "$ROOT/tools/image/slim.sh" "$src/tools/image/"
cp -a "$WHEELS" "$src/tools/image/wheelhouse"
t=$SECONDS
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -n 1)
revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- kcd sidecar pyproject.toml 2>/dev/null || revision="$revision-dirty"
buildah bud --isolation chroot --layers \
    --build-arg BASE="$base_image" --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -f "$src/Dockerfile" -t "$IMAGE" "$src" >"$CACHE/build.log" 2>&1 \
    || { tail -n 40 "$CACHE/build.log" >&2; die "buildah bud failed (log: $CACHE/build.log)"; }
log "build: $((SECONDS - t)) s"
size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)
log "done: $IMAGE ($size) in $((SECONDS - start)) s"
