"""Registry test fixtures: a faulty registry on 127.0.0.1, and OCI clients with short timeouts and recorded sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from kcd import images
from kcd.registries import oci
from kcd.registries.ocitransport import Transport
from tests.registries.faulty import FaultyRegistry


@pytest.fixture
def faulty() -> Iterator[FaultyRegistry]:
    server = FaultyRegistry().start()
    yield server
    server.stop()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


OciFactory = Callable[..., oci.OciRegistry]


@pytest.fixture
def oci_client(sleeps: Sleeps) -> OciFactory:
    """An OCI client for `host/path` whose retries sleep into `sleeps` instead of the clock."""

    def make(
        host: str, path: str = "team/app", *, credentials: tuple[str, str] | None = None, **kw: object
    ) -> oci.OciRegistry:
        ref = images.parse_repo(f"{host}/{path}")
        transport_kw = {k: kw.pop(k) for k in ("attempts", "max_wait", "timeout") if k in kw}
        transport = Transport(f"http://{host}", path, credentials, sleep=sleeps, **transport_kw)  # type: ignore[arg-type]
        return oci.OciRegistry(ref, transport=transport, **kw)  # type: ignore[arg-type]

    return make
