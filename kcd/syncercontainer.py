"""Names of the syncer container's contract (docs, contract.md "Sidecar injection"): the one place Python spells them.

The container itself is defined once, by the kcd-syncer library chart (``charts/kcd-syncer/templates/_syncer.tpl``);
the kcd chart renders it into the ``<fullname>-syncer`` ConfigMap and the injection webhook (kcd.webhook.inject)
fills in the per-pod values by these names. The syncer (sidecar/__main__.py) reads the same variables.
"""

from __future__ import annotations

CONTAINER_NAME = "kcd-syncer"

ENV_NAMESPACE = "KCD_NAMESPACE"
ENV_KCD = "KCD_NAME"
ENV_WORKLOAD_KIND = "KCD_WORKLOAD_KIND"
ENV_WORKLOAD_NAME = "KCD_WORKLOAD_NAME"
ENV_POD = "POD_NAME"
