"""Fixtures of the API's tests: the CRD installed, the rest client on the local control plane, and a watch-backed
store with the app over it (Flask's test client), stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import flask
import pytest

from kcd.api import Settings
from kcd.api.app import create_app
from kcd.api.store import Store
from kcd.kube import rest
from tests import crd
from tests.env.procs import wait_until


@pytest.fixture
def rest_client(cluster: Any, kube_api: Any) -> Iterator[rest.Client]:
    crd.install(kube_api)
    client = rest.from_kubeconfig(cluster.kubeconfig)
    yield client
    client.close()


StartApi = Callable[..., tuple[flask.Flask, Store]]


@pytest.fixture
def start_api(rest_client: rest.Client) -> Iterator[StartApi]:
    """`start_api(namespace=None, writes=False)`: a started Store (waited until ready) and the app over it."""
    stores: list[Store] = []

    def start(namespace: str | None = None, writes: bool = False) -> tuple[flask.Flask, Store]:
        store = Store(rest_client, namespace=namespace).start()
        stores.append(store)
        wait_until(store.ready, what="the API's store listed everything", timeout=30)
        return create_app(store=store, settings=Settings(namespace=namespace, writes_enabled=writes)), store

    yield start
    for store in stores:
        store.stop()
