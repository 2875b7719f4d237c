#!/bin/sh
# Trim the venv VENV (default /opt/kcd) of what kcd never loads, then byte-compile it (run by the Dockerfile).
# - kubernetes/aio: the client's asyncio variant (42 MB with its bytecode); kcd uses the synchronous client and kopf
#   its own aiohttp calls, and nothing in the kubernetes package imports kubernetes.aio.
# - botocore/data: the API models of ~450 AWS services (28 MB); kcd calls ECR only. Kept: ECR and the services the
#   credential chain may call (STS for IRSA/assume-role, SSO, SSO-OIDC, sign-in), plus the shared endpoint and
#   partition files.
# - symbols of the wheels' extension modules (strip --strip-unneeded, as Debian does for its own; 14 -> 3.4 MB).
# Bytecode is written with unchecked hashes, so a read-only, non-root container never recompiles at start.
set -eu
VENV=${1:-/opt/kcd}
KEEP_AWS="ecr ecr-public sts sso sso-oidc signin"
sp=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

rm -rf "$sp/kubernetes/aio"
if [ -d "$sp/botocore/data" ]; then
    for d in "$sp"/botocore/data/*/; do
        name=$(basename "$d")
        case " $KEEP_AWS " in *" $name "*) ;; *) rm -rf "$d" ;; esac
    done
fi
if command -v strip >/dev/null; then
    find "$sp" -name '*.so' -exec strip --strip-unneeded {} +
fi
find "$VENV" -name __pycache__ -prune -exec rm -rf {} +
"$VENV/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$sp" >/dev/null
