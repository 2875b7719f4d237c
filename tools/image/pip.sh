#!/bin/sh
# Install kcd into the venv /opt/kcd inside the image's build stage (run by the Dockerfile).
#   pip.sh deps      the dependencies, from /wheels only (nothing when /wheels is empty: `app` brings them from PyPI)
#   pip.sh app SRC   kcd itself, built from SRC (pure Python: setuptools, no compiler)
# With wheels in /wheels (tools/image/build.sh) nothing is downloaded: pip runs from its own wheel with --no-index, so
# the base needs neither pip nor ensurepip. Without them (a plain `docker build` from python:3.11-slim) the base's pip
# installs from PyPI into the venv (--python).
set -eu
VENV=/opt/kcd
[ -x "$VENV/bin/python" ] || python3 -m venv --without-pip "$VENV"
pip_wheel=$(ls /wheels/pip-*.whl 2>/dev/null | head -n 1 || true)

pip() {
    if [ -n "$pip_wheel" ]; then
        "$VENV/bin/python" "$pip_wheel/pip" "$@" --no-index --find-links /wheels
    else
        python3 -m pip --python "$VENV/bin/python" "$@"
    fi
}

case "$1" in
deps)
    [ -n "$pip_wheel" ] || exit 0
    # Every prepared wheel but the build tools: exactly kcd's dependency closure (pip wheel made it).
    set --
    for w in /wheels/*.whl; do
        case "${w##*/}" in pip-* | setuptools-* | wheel-*) ;; *) set -- "$@" "$w" ;; esac
    done
    pip install --no-compile "$@"
    ;;
app)
    pip install --no-compile "$2"
    ;;
*)
    echo "usage: pip.sh deps | app SRC" >&2
    exit 2
    ;;
esac
