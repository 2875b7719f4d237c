# kcd: controller (`kcd run`), API/dashboard (`kcd api`) and syncer (`kcd-syncer`) in one image. The chart picks the
# program per container: `args: [run, …]` / `args: [api, …]` run under the `kcd` entry point, the syncer sidecar sets
# `command: [kcd-syncer]`.
#
#   docker build -t kcd .            # from python:3.11-slim, dependencies from PyPI
#   make image                       # buildah, a Debian base made by mmdebstrap, wheels built outside (docs/image.md)
#
# BASE must provide python3 (3.11) with the venv module; nothing else. The venv lives at /opt/kcd in both stages, so
# its interpreter link (/usr/local/bin/python3 in python:3.11-slim, /usr/bin/python3 in Debian) stays valid.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
# strip(1), for the wheels' extension modules (10 MB of symbols); this stage only, never in the image.
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils \
    >/dev/null && rm -rf /var/lib/apt/lists/*
# Wheels prepared by tools/image/build.sh (installed with --no-index); empty for a plain `docker build`.
COPY tools/image/wheelhouse/ /wheels/
COPY tools/image/pip.sh tools/image/slim.sh /usr/local/lib/kcd-image/
# Dependencies first, in their own layer: a source change reinstalls kcd only.
RUN sh /usr/local/lib/kcd-image/pip.sh deps
COPY pyproject.toml README.md /src/
COPY kcd /src/kcd
COPY sidecar /src/sidecar
RUN sh /usr/local/lib/kcd-image/pip.sh app /src && sh /usr/local/lib/kcd-image/slim.sh /opt/kcd

FROM ${BASE}
COPY --from=build /opt/kcd /opt/kcd
ENV PATH=/opt/kcd/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 65534:65534
WORKDIR /tmp
EXPOSE 8081
ENTRYPOINT ["kcd"]
CMD ["run"]
# Last, so that a new revision or date changes only this metadata step.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG BASE
LABEL org.opencontainers.image.title="kcd" \
      org.opencontainers.image.description="Kubernetes Continuous Delivery: controller, API/dashboard and syncer" \
      org.opencontainers.image.source="https://github.com/kcd-io/kcd" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE}"
