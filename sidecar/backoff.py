"""How long the syncer waits after failures, per party (pure functions; the syncer adds jitter).

The registry and the API server fail for unrelated reasons, so each has its own count and schedule:

- The registry is backed off hard (interval × 2ⁿ⁻¹, at most max(interval, 10 min)): it may be rate limiting us, and a
  registry that is down for everyone gains nothing from thousands of syncers asking every minute.
- The API server is retried soon (5 s × 2ⁿ⁻¹) but never later than one poll interval: each retry is one cheap call,
  and every minute spent waiting after it is back is a minute of detection lost.
"""

from __future__ import annotations

REGISTRY_CAP = 600.0
API_FIRST = 5.0  # the CRD's minimum poll interval
_MAX_DOUBLINGS = 10  # keeps 2ⁿ small; both schedules are capped long before


def registry_wait(failures: int, interval: float) -> float:
    """Seconds before asking a registry again after `failures` failures in a row (≥ 1)."""
    return min(interval * 2.0 ** min(failures - 1, _MAX_DOUBLINGS), max(interval, REGISTRY_CAP))


def api_wait(failures: int, interval: float) -> float:
    """Seconds before calling the API server again after `failures` failures in a row (≥ 1)."""
    return min(API_FIRST * 2.0 ** min(failures - 1, _MAX_DOUBLINGS), interval)
