"""ECR repository URIs (pure): ``<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<name>``.

The original kcd used an unanchored regex with unescaped dots that cut names at the first ``.``; here the whole URI must
match and the name follows ECR's own rule (lowercase components joined by ``.``, ``_``, ``-``, separated by ``/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
_URI_RE = re.compile(
    rf"(?P<account>[0-9]{{12}})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-[0-9]+)"
    rf"\.amazonaws\.com(?:\.cn)?/(?P<name>{_NAME})"
)


@dataclass(frozen=True)
class EcrRepo:
    account: str
    region: str
    name: str


def parse(uri: str) -> EcrRepo | None:
    """The parts of an ECR repository URI, or None when ``uri`` is not one (a tag or digest is not allowed)."""
    if not isinstance(uri, str):
        return None
    match = _URI_RE.fullmatch(uri.removeprefix("https://"))
    if match is None or not 2 <= len(match["name"]) <= 256:
        return None
    return EcrRepo(account=match["account"], region=match["region"], name=match["name"])
