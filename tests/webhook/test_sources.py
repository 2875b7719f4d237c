"""The webhook's inputs: the chart's container file is followed when the kubelet updates it, and lookups are cached
briefly except misses (a KCD created after its workload's first pods is seen by the next pod)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kcd.webhook.sources import Miss, TemplateFile, TtlCache


def test_the_container_file_is_reloaded_when_it_changes_and_kept_when_it_breaks(tmp_path: Path) -> None:
    path = tmp_path / "container.yaml"
    path.write_text("- name: kcd-syncer\n  image: r/kcd:1\n")
    template = TemplateFile(path, check_every=0)
    assert template.current()["image"] == "r/kcd:1"
    path.write_text("- name: kcd-syncer\n  image: r/kcd:2\n")
    os.utime(path, (1, 1))  # a different mtime, as the kubelet's symlink swap gives
    assert template.current()["image"] == "r/kcd:2"
    path.write_text("not: [a container")
    os.utime(path, (2, 2))
    assert template.current()["image"] == "r/kcd:2"


def test_a_file_that_is_not_a_container_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "container.yaml"
    path.write_text("data: {}\n")
    with pytest.raises(ValueError, match="not a container"):
        TemplateFile(path)


def test_hits_are_cached_for_the_ttl_and_misses_are_not() -> None:
    now = [0.0]
    cache = TtlCache(ttl=30, clock=lambda: now[0])
    loads: list[str] = []

    def load(value: str | None) -> str | None:
        loads.append(str(value))
        return value

    assert cache.get(("kcds", "ns", "a"), lambda: load("body")) == "body"
    assert cache.get(("kcds", "ns", "a"), lambda: load("newer")) == "body"
    assert cache.get(("kcds", "ns", "b"), lambda: load(None)) is None
    assert cache.get(("kcds", "ns", "b"), lambda: load("created")) == "created"
    now[0] = 31
    assert cache.get(("kcds", "ns", "a"), lambda: load("newer")) == "newer"
    assert loads == ["body", "None", "created", "newer"]


def test_a_cached_only_lookup_answers_fresh_hits_and_raises_miss_instead_of_loading() -> None:
    now = [0.0]
    cache = TtlCache(ttl=30, clock=lambda: now[0])
    cache.get(("kcds", "ns", "a"), lambda: "body")
    assert cache.fresh(("kcds", "ns", "a")) == "body"
    with pytest.raises(Miss):
        cache.fresh(("kcds", "ns", "b"))  # never loaded
    now[0] = 31
    with pytest.raises(Miss):
        cache.fresh(("kcds", "ns", "a"))  # expired: the caller loads it (in a thread)
