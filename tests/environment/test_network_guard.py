"""The tests themselves cannot reach anything but loopback: pod IPs and ClusterIPs are not hosts."""

import socket

import pytest


@pytest.mark.parametrize("address", ["10.96.0.1", "10.244.0.5", "192.0.2.1"], ids=["cluster-ip", "pod-ip", "public"])
def test_connections_to_non_loopback_addresses_are_refused(address: str) -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="loopback only"):
        s.connect((address, 80))


def test_connections_to_loopback_are_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as s:
            s.connect(server.getsockname())
