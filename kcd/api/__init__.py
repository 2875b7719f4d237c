"""The workloads API and dashboard: a Flask app (``kcd.api.app.create_app``) served by gunicorn (``kcd api``).

Layers, top down: ``serve`` (gunicorn) -> ``app`` (routes, the rendered-response cache) -> ``store`` (watch-backed
cache of slim projections, over ``kcd.kube.rest``), ``pages`` (HTML), ``auth`` + ``actions`` (write actions) -> the
pure modules (``kcd.overview``, ``kcd.history``, ``kcd.operations``). No ``kubernetes`` client and no kopf here: the
API process has an 80 MB budget (see kcd.kube.rest).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    namespace: str | None = None  # a namespaced install: the store watches this namespace only
    writes_enabled: bool = False  # POST /v1/kcd/kcds/<ns>/<name>/<action> (off: 404)
    kubeconfig: str | None = None  # None: in-cluster, the KCD_* environment, else $KUBECONFIG or ~/.kube/config
    render_interval: float = 0.5  # a changing store re-renders a response at most this often
    render_max_age: float = 5.0  # an unchanged store re-renders after this (relative times such as "12 s ago")
