"""Reading raw Kubernetes dicts into typed values, with errors that name the offending field (for kcd.model/status).

Each helper takes the dict it reads from, the key, and the dotted path of that dict ("spec.strategy"), so an error
says `spec.strategy.kind: must be ...`. Missing and null values fall back to the default; wrong types raise SpecError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SpecError(ValueError):
    """A KCD field no controller can act on; `field` is its dotted path (spec.container.name)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def mapping(raw: Any, field: str) -> Mapping[str, Any]:
    """`raw` as a mapping; None is an empty one."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError(field, f"must be an object, not {type(raw).__name__}")
    return raw


def string(raw: Mapping[str, Any], key: str, parent: str, required: bool = False) -> str:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise SpecError(f"{parent}.{key}", "is required")
        return ""
    if not isinstance(value, str):
        raise SpecError(f"{parent}.{key}", f"must be a string, not {type(value).__name__}")
    return value


def integer(raw: Mapping[str, Any], key: str, parent: str, default: int, *, minimum: int | None = None) -> int:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{parent}.{key}", f"must be an integer, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise SpecError(f"{parent}.{key}", f"must be at least {minimum}, not {value}")
    return value


def boolean(raw: Mapping[str, Any], key: str, parent: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SpecError(f"{parent}.{key}", f"must be true or false, not {type(value).__name__}")
    return value


def string_map(raw: Any, field: str, *, lenient: bool = False) -> dict[str, str]:
    """A map of strings (labels, annotations); `lenient` drops non-string values instead of raising."""
    items = mapping(raw, field)
    out: dict[str, str] = {}
    for key, value in items.items():
        if isinstance(key, str) and isinstance(value, str):
            out[key] = value
        elif not lenient:
            raise SpecError(f"{field}.{key}", "must be a string")
    return out


def strings(raw: Any, field: str) -> tuple[str, ...]:
    """A list of strings; None is empty."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise SpecError(field, "must be a list of strings")
    return tuple(raw)
