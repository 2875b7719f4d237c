"""Which candidate a KCD acts on, and whether it may become an image reference. Pure.

A candidate is trusted only when it is this KCD's: its kcd.io/candidate-source must be the KCD's current
`imageRepo:tag` (a stale candidate after a spec edit, or one written for another KCD, is ignored). Among the KCD's own
candidates the newest by parsed time wins (ties by version, so the choice never depends on list order); a time in the
future beyond a small clock skew is distrusted (it would win forever).

Before any regular expression runs, the version must be a valid OCI tag or a digest; then versionSyntax (RE2) must
match it in full; the reference built from it must parse back to exactly spec.imageRepo (`5000/evil:1` on `nginx`
would otherwise name another registry host); a digest annotation, when present, must be a digest.
"""

from __future__ import annotations

import dataclasses
import datetime

from kcd import images
from kcd.engine.view import Candidate, View

CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Choice:
    candidate: Candidate | None = None  # the valid candidate to act on
    problem: str = ""  # why the newest own candidate cannot be used (an InvalidCandidate report)


def own(view: View) -> list[Candidate]:
    source = view.kcd.source
    return [w.candidate for w in view.workloads if w.candidate is not None and w.candidate.source == source]


def choose(view: View) -> Choice:
    cands = own(view)
    if not cands:
        return Choice()
    future = [c for c in cands if c.time is not None and c.time > view.now + CLOCK_SKEW]
    timed = [c for c in cands if c.time is not None and c not in future]
    if not timed:
        bad = future[0] if future else cands[0]
        why = "lies in the future" if future else "is missing or not an RFC 3339 time"
        return Choice(problem=f"kcd.io/candidate-time on {bad.workload} {why}; candidate {_short(bad.version)} ignored")
    newest = max(timed, key=lambda c: (c.time, c.version))
    problem = invalid(view, newest)
    return Choice(problem=problem) if problem else Choice(candidate=newest)


def invalid(view: View, cand: Candidate) -> str:
    """Why `cand` cannot be deployed by this KCD ("" when it can)."""
    spec = view.kcd.spec
    version = cand.version
    if not (images.is_tag(version) or images.is_digest(version)):
        return f"candidate version {_short(version)} on {cand.workload} is neither a valid OCI tag nor a digest"
    if cand.digest and not images.is_digest(cand.digest):
        return f"kcd.io/candidate-digest {_short(cand.digest)} on {cand.workload} is not a digest"
    if images.is_tag(version):
        try:
            matched = images.is_version(images.compile_syntax(spec.version_syntax), version)
        except images.InvalidVersionSyntax:
            matched = False
        if not matched:
            return f"candidate version {_short(version)} does not match versionSyntax {spec.version_syntax!r}"
    return reference_problem(spec.image_repo, version)


def reference_problem(repo: str, version: str) -> str:
    """ "" when `repo` + `version` make a reference that names exactly `repo` (and nothing else)."""
    built = images.image_for(repo, version)
    try:
        ref, want = images.parse(built), images.parse_repo(repo)
    except images.InvalidReference as err:
        return f"{_short(built)} is not a valid image reference: {err}"
    if ref.repo != want.repo or (ref.tag or ref.digest) != version:
        return f"{_short(built)} would name {ref.repo}, not {want.repo}"
    return ""


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
