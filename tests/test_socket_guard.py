"""The offline guard itself must be able to fail: a connection off loopback raises."""

import socket

import pytest


def test_guard_refuses_non_loopback() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(AssertionError, match="beyond loopback"):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, and never attempted
    finally:
        sock.close()


def test_guard_allows_loopback() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket()
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
