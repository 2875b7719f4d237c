"""The KCD resource as plain, frozen data: parsed once from the raw body, with the CRD's defaults applied.

Nothing else in kcd reads a raw KCD dict. `KCD.from_body(body)` returns a `KCD` (identity, spec, status) or raises
`SpecError` naming the offending field (`err.field == "spec.strategy.blueGreen"`). The API server's schema
(charts/kcd/templates/crd.yaml) already rejects bad specs; these checks are the safety net for objects that bypassed it
(no CRD yet, an older schema). The defaults are the CRD's, repeated as constants here (a test keeps them in step).

The status side (Status, Condition, RolloutState, the reasons and condition helpers) lives in kcd.status and is
re-exported here, so callers import everything from kcd.model:

  KCD.from_body(body) -> KCD            .name .namespace .uid .generation .annotations .labels .spec .status .key
                                         .source .is_quarantined(version, digest) .is_held(version, digest)
  Spec / Container / Strategy / BlueGreen / Verify / HistorySpec / RollbackSpec / ConfigRef   (frozen dataclasses)
  Status.from_dict(raw) / .to_dict()     RolloutState(...).advance(phase, *, now) / .to_dict() / .from_dict(raw)
  condition(type, ok, reason, message, *, generation, now) -> Condition
  set_condition(conditions, new) -> tuple[Condition, ...];  find_condition(conditions, type) -> Condition | None
  quarantine(failed_versions, version) -> tuple[str, ...];  format_time(datetime) -> str
  parse_time(str) -> datetime | None
  enums (str-valued): StrategyKind, VerifyKind, CurrStatus, Outcome, ConditionType, Phase, Reason
  annotations: CANDIDATE_VERSION/DIGEST/TIME/SOURCE, INJECT, KCD_NAME, PAUSED, ROLLBACK_TO/REQUESTED_AT/BY
  GROUP, VERSION, KIND, PLURAL
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from kcd import images
from kcd._parse import SpecError as SpecError
from kcd._parse import boolean, integer, mapping, string, string_map, strings
from kcd.status import MAX_FAILED_VERSIONS as MAX_FAILED_VERSIONS
from kcd.status import Condition as Condition
from kcd.status import ConditionType as ConditionType
from kcd.status import CurrStatus as CurrStatus
from kcd.status import Drift as Drift
from kcd.status import Outcome as Outcome
from kcd.status import Phase as Phase
from kcd.status import Reason as Reason
from kcd.status import RolloutState as RolloutState
from kcd.status import Status as Status
from kcd.status import condition as condition
from kcd.status import find_condition as find_condition
from kcd.status import format_time as format_time
from kcd.status import parse_time as parse_time
from kcd.status import quarantine as quarantine
from kcd.status import set_condition as set_condition

GROUP = "kcd.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "KCD"
PLURAL = "kcds"

# Annotations (contract.md): the syncer writes the candidate-* ones on its own workload.
CANDIDATE_VERSION = "kcd.io/candidate-version"
CANDIDATE_DIGEST = "kcd.io/candidate-digest"
CANDIDATE_TIME = "kcd.io/candidate-time"
CANDIDATE_SOURCE = "kcd.io/candidate-source"  # "<imageRepo>:<tag>" the syncer resolved: ties a candidate to its KCD
INJECT = "kcd.io/inject"
KCD_NAME = "kcd.io/kcd"
PAUSED = "kcd.io/paused"  # "true" on a KCD: start no new rollouts, correct no drift (kcd rollout pause/resume)
# A manual rollback (kcd rollout rollback): the version to go back to, and when it was asked for (the request's id:
# the controller carries out each requested-at value once and records it in status.lastRollback).
ROLLBACK_TO = "kcd.io/rollback-to"
ROLLBACK_REQUESTED_AT = "kcd.io/rollback-requested-at"
ROLLBACK_BY = "kcd.io/rollback-by"  # who asked (the CLI's user), for the Event
# `kcd rollout promote|abort`: the value is the in-flight rollout's id (`<version>@<startedAt>`), so a request never
# reaches a later rollout.
PROMOTE = "kcd.io/promote"
ABORT = "kcd.io/abort"

# The CRD's defaults.
DEFAULT_VERSION_SYNTAX = "[0-9a-f]{5,40}"
DEFAULT_POLL_INTERVAL_SECONDS = 60
DEFAULT_LIVENESS_SECONDS = 300
DEFAULT_TIMEOUT_SECONDS = 900
DEFAULT_HISTORY_ENABLED = True
DEFAULT_HISTORY_MAX_ENTRIES = 50
DEFAULT_ROLLBACK_ENABLED = False
DEFAULT_VERIFY_TIMEOUT_SECONDS = 300
DEFAULT_EXPECT_STATUS = 200  # not a CRD default (expectStatus is HTTP-only); applied here for HTTP verifications


class StrategyKind(enum.StrEnum):
    SIMPLE = "Simple"
    SERVICE_BLUE_GREEN = "ServiceBlueGreen"


class VerifyKind(enum.StrEnum):
    IMAGE = "Image"
    HTTP = "HTTP"


@dataclasses.dataclass(frozen=True)
class Verify:
    kind: VerifyKind
    image: str = ""
    tag: str = ""
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    url: str = ""
    expect_status: int = DEFAULT_EXPECT_STATUS
    timeout_seconds: int = DEFAULT_VERIFY_TIMEOUT_SECONDS

    @classmethod
    def from_dict(cls, raw: Any, *, field: str) -> Verify:
        raw = mapping(raw, field)
        kind_text = string(raw, "kind", field, required=True)
        if kind_text not in set(VerifyKind):
            raise SpecError(f"{field}.kind", f"must be one of {', '.join(VerifyKind)}, not {kind_text!r}")
        kind = VerifyKind(kind_text)
        verify = cls(
            kind=kind,
            image=string(raw, "image", field),
            tag=string(raw, "tag", field),
            annotations=string_map(raw.get("annotations"), f"{field}.annotations"),
            url=string(raw, "url", field),
            expect_status=integer(raw, "expectStatus", field, DEFAULT_EXPECT_STATUS, minimum=100),
            timeout_seconds=integer(raw, "timeoutSeconds", field, DEFAULT_VERIFY_TIMEOUT_SECONDS, minimum=1),
        )
        if kind is VerifyKind.IMAGE and not verify.image:
            raise SpecError(f"{field}.image", "an Image verification needs image")
        if kind is VerifyKind.HTTP and not verify.url:
            raise SpecError(f"{field}.url", "an HTTP verification needs url")
        return verify


def _verifies(raw: Any, field: str) -> tuple[Verify, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SpecError(field, "must be a list")
    return tuple(Verify.from_dict(item, field=f"{field}[{i}]") for i, item in enumerate(raw))


@dataclasses.dataclass(frozen=True)
class Container:
    name: str
    verify: tuple[Verify, ...] = ()


@dataclasses.dataclass(frozen=True)
class BlueGreen:
    service_name: str
    label_names: tuple[str, ...]
    verification_service_name: str = ""
    scale_down: bool = False
    manual_promotion: bool = False  # wait for `kcd rollout promote` before the switch
    bake_seconds: int = 0  # after the switch: strategy.verify's HTTP checks keep running this long; a failure reverts


@dataclasses.dataclass(frozen=True)
class Strategy:
    kind: StrategyKind = StrategyKind.SIMPLE
    blue_green: BlueGreen | None = None
    verify: tuple[Verify, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> Strategy:
        raw = mapping(raw, "spec.strategy")
        kind_text = string(raw, "kind", "spec.strategy") or StrategyKind.SIMPLE
        if kind_text not in set(StrategyKind):
            raise SpecError("spec.strategy.kind", f"must be one of {', '.join(StrategyKind)}, not {kind_text!r}")
        kind = StrategyKind(kind_text)
        blue_green = None
        if raw.get("blueGreen") is not None:
            bg = mapping(raw["blueGreen"], "spec.strategy.blueGreen")
            labels = strings(bg.get("labelNames"), "spec.strategy.blueGreen.labelNames")
            if not labels or not all(labels):
                raise SpecError("spec.strategy.blueGreen.labelNames", "must be a non-empty list of label names")
            blue_green = BlueGreen(
                service_name=string(bg, "serviceName", "spec.strategy.blueGreen", required=True),
                label_names=labels,
                verification_service_name=string(bg, "verificationServiceName", "spec.strategy.blueGreen"),
                scale_down=boolean(bg, "scaleDown", "spec.strategy.blueGreen", False),
                manual_promotion=string(bg, "promotion", "spec.strategy.blueGreen") == "Manual",
                bake_seconds=integer(bg, "bakeSeconds", "spec.strategy.blueGreen", 0, minimum=0),
            )
        if (kind is StrategyKind.SERVICE_BLUE_GREEN) != (blue_green is not None):
            raise SpecError(
                "spec.strategy.blueGreen", "is required when strategy.kind is ServiceBlueGreen, and only then"
            )
        return cls(kind=kind, blue_green=blue_green, verify=_verifies(raw.get("verify"), "spec.strategy.verify"))


@dataclasses.dataclass(frozen=True)
class HistorySpec:
    enabled: bool = DEFAULT_HISTORY_ENABLED
    max_entries: int = DEFAULT_HISTORY_MAX_ENTRIES


@dataclasses.dataclass(frozen=True)
class RollbackSpec:
    enabled: bool = DEFAULT_ROLLBACK_ENABLED


@dataclasses.dataclass(frozen=True)
class ConfigRef:
    """spec.config: the ConfigMap (in the KCD's namespace) whose data[key] is set to the live version."""

    name: str
    key: str


@dataclasses.dataclass(frozen=True)
class Spec:
    image_repo: str
    tag: str
    selector: Mapping[str, str]
    container: Container
    version_syntax: str = DEFAULT_VERSION_SYNTAX
    strategy: Strategy = Strategy()
    poll_interval_seconds: int = DEFAULT_POLL_INTERVAL_SECONDS
    liveness_seconds: int = DEFAULT_LIVENESS_SECONDS
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    history: HistorySpec = HistorySpec()
    rollback: RollbackSpec = RollbackSpec()
    config: ConfigRef | None = None
    service_account_name: str = ""

    @classmethod
    def from_dict(cls, raw: Any) -> Spec:
        raw = mapping(raw, "spec")
        image_repo = string(raw, "imageRepo", "spec", required=True)
        tag = string(raw, "tag", "spec", required=True)
        selector = string_map(raw.get("selector"), "spec.selector")
        if not selector:
            raise SpecError("spec.selector", "must be a non-empty map of labels")
        container = mapping(raw.get("container"), "spec.container")
        syntax = string(raw, "versionSyntax", "spec") or DEFAULT_VERSION_SYNTAX
        try:
            images.compile_syntax(syntax)
        except images.InvalidVersionSyntax as err:
            raise SpecError("spec.versionSyntax", f"is not a valid RE2 regular expression: {err}") from None
        history = mapping(raw.get("history"), "spec.history")
        config = None
        if raw.get("config") is not None:
            cfg = mapping(raw["config"], "spec.config")
            config = ConfigRef(string(cfg, "name", "spec.config", True), string(cfg, "key", "spec.config", True))
        return cls(
            image_repo=image_repo,
            tag=tag,
            selector=selector,
            container=Container(
                name=string(container, "name", "spec.container", required=True),
                verify=_verifies(container.get("verify"), "spec.container.verify"),
            ),
            version_syntax=syntax,
            strategy=Strategy.from_dict(raw.get("strategy")),
            poll_interval_seconds=integer(raw, "pollIntervalSeconds", "spec", DEFAULT_POLL_INTERVAL_SECONDS, minimum=5),
            liveness_seconds=integer(raw, "livenessSeconds", "spec", DEFAULT_LIVENESS_SECONDS, minimum=1),
            timeout_seconds=integer(raw, "timeoutSeconds", "spec", DEFAULT_TIMEOUT_SECONDS, minimum=1),
            history=HistorySpec(
                enabled=boolean(history, "enabled", "spec.history", DEFAULT_HISTORY_ENABLED),
                max_entries=integer(history, "maxEntries", "spec.history", DEFAULT_HISTORY_MAX_ENTRIES, minimum=1),
            ),
            rollback=RollbackSpec(
                enabled=boolean(mapping(raw.get("rollback"), "spec.rollback"), "enabled", "spec.rollback", False)
            ),
            config=config,
            service_account_name=string(raw, "serviceAccountName", "spec"),
        )


@dataclasses.dataclass(frozen=True)
class KCD:
    """One KCD object: identity, spec and status."""

    name: str
    namespace: str
    spec: Spec
    status: Status = Status()
    uid: str = ""
    generation: int = 0
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> KCD:
        """Parse a KCD body (dict or kopf Body). Raises SpecError for a spec no controller could act on."""
        meta = mapping(body.get("metadata"), "metadata")
        generation = meta.get("generation")
        return cls(
            name=string(meta, "name", "metadata"),
            namespace=string(meta, "namespace", "metadata"),
            uid=string(meta, "uid", "metadata"),
            generation=generation if isinstance(generation, int) else 0,
            annotations=string_map(meta.get("annotations"), "metadata.annotations", lenient=True),
            labels=string_map(meta.get("labels"), "metadata.labels", lenient=True),
            spec=Spec.from_dict(body.get("spec")),
            status=Status.from_dict(body.get("status")),
        )

    @property
    def key(self) -> str:
        """namespace/name, for logs."""
        return f"{self.namespace}/{self.name}"

    @property
    def source(self) -> str:
        """`imageRepo:tag`: what a candidate's kcd.io/candidate-source must say to be this KCD's."""
        return f"{self.spec.image_repo}:{self.spec.tag}"

    def is_quarantined(self, version: str, digest: str = "") -> bool:
        """True when `version` (or the image with `digest`, under any tag) failed before and nobody cleared it."""
        return version in self.status.failed_versions or bool(digest and digest in self.status.failed_versions)

    def is_held(self, version: str, digest: str = "") -> bool:
        """True when a person rolled back from `version` (or its digest) and nobody cleared it."""
        return version in self.status.held_versions or bool(digest and digest in self.status.held_versions)
