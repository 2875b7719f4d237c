"""The Simple (rolling) strategy: set the container image on every selected workload and let each roll its pods.

Pure helpers used by kcd.engine.rollout: which workloads still need the patch, and whether all of them have rolled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kcd.engine.view import Target


@dataclass(frozen=True)
class Verdict:
    done: bool
    failed: bool
    message: str


def pending_patches(targets: Sequence[Target], image: str) -> tuple[tuple[Target, str], ...]:
    """Only workloads whose image differs: a resumed step never patches twice."""
    return tuple((t, image) for t in targets if t.image != image)


def verdict(targets: Sequence[Target], image: str) -> Verdict:
    """Done when every workload runs `image` and has rolled out; failed as soon as one reports failure."""
    waiting: list[str] = []
    for t in targets:
        if t.progress.failed:
            return Verdict(False, True, f"{t.ref}: {t.progress.message}")
        if t.image != image:
            waiting.append(f"{t.ref}: image is {t.image}, not {image}")
        elif not t.progress.done:
            waiting.append(f"{t.ref}: {t.progress.message}")
    if waiting:
        return Verdict(False, False, "; ".join(waiting))
    return Verdict(True, False, "; ".join(f"{t.ref}: {t.progress.message}" for t in targets))
