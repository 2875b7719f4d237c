"""Prometheus metrics of the controller (served on /metrics)."""

from prometheus_client import Counter, Histogram

ROLLOUTS = Counter("kcd_rollouts_total", "Finished rollouts by outcome", ["outcome"])
IMAGE_PATCHES = Counter("kcd_image_patches_total", "Container image patches sent to workloads")
STEP_ERRORS = Counter("kcd_reconcile_errors_total", "Reconcile steps that failed on an API error and were retried")
STEP_SECONDS = Histogram(
    "kcd_reconcile_step_seconds",
    "Duration of one reconcile step",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
