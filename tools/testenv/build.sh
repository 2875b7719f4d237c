#!/usr/bin/env bash
# Builds the local test environment's Go binaries into a version-keyed cache (~/.cache/kcd/bin/<tool>-v<ver>/).
# Every step is a no-op when its ".ok" marker exists, so a warm machine finishes in well under a second.
# Only the Go module proxy is used (go get / go install); nothing else is downloaded.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$HERE/versions.env"
CACHE="${KCD_CACHE:-$HOME/.cache/kcd}"
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0

record() {  # tool version seconds: cold build times, read by benchmarks/bench_env.py
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$CACHE/build-times.tsv"
}
log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v go >/dev/null || { echo "go is missing: install Go >= 1.26 (apt-get or the machine image)" >&2; exit 1; }

build_etcd() {
  local bin="$CACHE/bin/etcd-v$ETCD_VERSION"
  [ -f "$bin/.ok" ] && return 0
  log "etcd v$ETCD_VERSION"; local t0=$SECONDS
  local work="$CACHE/src/etcd-v$ETCD_VERSION"; mkdir -p "$work" "$bin"
  ( cd "$work"
    [ -f go.mod ] || go mod init kcdtestenv/etcd >/dev/null 2>&1
    GOFLAGS="-mod=mod -buildvcs=false" go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags="-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 )
  # (no `| grep -q`: with pipefail, grep closing early makes the version command die of SIGPIPE)
  [[ "$("$bin/etcd" --version)" == *"etcd Version: $ETCD_VERSION"* ]]
  touch "$bin/.ok"; record etcd "$ETCD_VERSION" $((SECONDS - t0))
}

build_kube() {
  local bin="$CACHE/bin/kube-v$KUBE_VERSION"
  [ -f "$bin/.ok" ] && return 0
  log "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$KUBE_VERSION"; local t0=$SECONDS
  local major="${KUBE_VERSION%%.*}" rest="${KUBE_VERSION#*.}"; local minor="${rest%%.*}"
  local staging="v0.$rest"
  local mods="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller"
  [ "$minor" -ge 36 ] && mods="$mods cri-streaming streaming"
  local work="$CACHE/src/kube-v$KUBE_VERSION"; mkdir -p "$work" "$bin"
  local pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  ( cd "$work"
    export GOFLAGS="-mod=mod -buildvcs=false"
    [ -f go.mod ] || go mod init kcdtestenv/kube >/dev/null 2>&1
    # The replace lines must exist before `go get`: k/k requires every staging module at v0.0.0.
    for m in $mods; do go mod edit -replace="k8s.io/$m=k8s.io/$m@$staging"; done
    # shellcheck disable=SC2046
    go get $(for p in $pkgs; do printf '%s@v%s ' "$p" "$KUBE_VERSION"; done)
    local ld="-s -w" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
      ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    # shellcheck disable=SC2086
    go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags="$ld" -o "$bin/" $pkgs )
  [ "$("$bin/kube-apiserver" --version)" = "Kubernetes v$KUBE_VERSION" ]
  touch "$bin/.ok"; record kube "$KUBE_VERSION" $((SECONDS - t0))
}

go_install() {  # name version package [ldflags]
  local name="$1" version="$2" pkg="$3" ld="${4:-}"
  local bin="$CACHE/bin/$name-v$version"
  [ -f "$bin/.ok" ] && return 0
  log "$name v$version"; local t0=$SECONDS
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS="-buildvcs=false" go install -trimpath -ldflags="-s -w $ld" "$pkg@v$version"
  touch "$bin/.ok"; record "$name" "$version" $((SECONDS - t0))
}

build_tools() {
  go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
  local hv="v$HELM_VERSION" kmin
  kmin="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  go_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=$hv \
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin \
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
  # ct through a wrapper module: `go install ct@version` asks the proxy for the module's version list (to check
  # deprecation), which the proxy refuses for chart-testing; `go get` of the exact version works.
  go_wrapped ct "$CT_VERSION" github.com/helm/chart-testing/v3 github.com/helm/chart-testing/v3/ct
}

go_wrapped() {  # name version module package
  local name="$1" version="$2" module="$3" pkg="$4"
  local bin="$CACHE/bin/$name-v$version" work="$CACHE/src/$name-v$version"
  [ -f "$bin/.ok" ] && return 0
  log "$name v$version (wrapper module)"; local t0=$SECONDS
  mkdir -p "$bin" "$work"
  ( cd "$work"
    export GOFLAGS="-mod=mod -buildvcs=false"
    [ -f go.mod ] || go mod init "kcdtestenv/$name" >/dev/null 2>&1
    go get "$module@v$version"
    go build -trimpath -ldflags="-s -w" -o "$bin/$name" "$pkg" )
  touch "$bin/.ok"; record "$name" "$version" $((SECONDS - t0))
}

case "${1:-all}" in
  etcd) build_etcd ;;
  kube) build_kube ;;
  tools) build_tools ;;
  all) build_etcd; build_tools; build_kube ;;
  *) echo "usage: $0 [all|etcd|kube|tools]" >&2; exit 2 ;;
esac
log "done: $CACHE/bin"
