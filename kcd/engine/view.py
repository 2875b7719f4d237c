"""Targets: the selected workloads reduced to what a rollout decision needs, and the candidate version they carry.

Pure: built from raw workload bodies (dicts) as the API returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kcd.engine.workload import Progress, container_image, progress
from kcd.model import CANDIDATE_DIGEST, CANDIDATE_TIME, CANDIDATE_VERSION


@dataclass(frozen=True)
class Candidate:
    version: str
    digest: str = ""
    time: str = ""


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    image: str | None  # None: the workload has no container of the KCD's name
    progress: Progress
    candidate: Candidate | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


def from_body(body: dict[str, Any], container: str) -> Target:
    meta = body.get("metadata") or {}
    notes = meta.get("annotations") or {}
    version = str(notes.get(CANDIDATE_VERSION) or "").strip()
    cand = (
        Candidate(version, str(notes.get(CANDIDATE_DIGEST) or ""), str(notes.get(CANDIDATE_TIME) or ""))
        if version
        else None
    )
    return Target(
        kind=str(body.get("kind")),
        name=str(meta.get("name")),
        image=container_image(body, container),
        progress=progress(body),
        candidate=cand,
    )


def newest_candidate(targets: Sequence[Target]) -> Candidate | None:
    """The candidate seen last (by its RFC 3339 time; ties by version, so the choice never depends on list order)."""
    cands = [t.candidate for t in targets if t.candidate is not None]
    return max(cands, key=lambda c: (c.time, c.version)) if cands else None
