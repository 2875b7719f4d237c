"""The syncer container as the charts render it (helm template): the webhook's input and the per-app output."""

from __future__ import annotations

from typing import Any

import yaml

from tests.chart.helm import EXAMPLE_APP, KUBE_VERSION, helm, template


def injected_template(*args: str) -> dict[str, Any]:
    """container.yaml of the kcd chart's `kcd-syncer` ConfigMap: what `kcd webhook --container-template` reads."""
    configmap = next(d for d in template(*args) if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kcd-syncer")
    container: dict[str, Any] = yaml.safe_load(configmap["data"]["container.yaml"])[0]
    return container


def configuration(*args: str) -> dict[str, Any]:
    """The kcd chart's MutatingWebhookConfiguration."""
    return next(d for d in template(*args) if d["kind"] == "MutatingWebhookConfiguration")


def example_app(release: str, namespace: str, *args: str) -> list[dict[str, Any]]:
    out = helm(
        "template", release, str(EXAMPLE_APP), "--namespace", namespace, "--kube-version", KUBE_VERSION, *args
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]
