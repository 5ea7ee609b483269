"""A real desk keeps an idle connection open well past a browser's pause between polls:
the next request on it is answered, not dropped as the server closes it."""

import socket
import time
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

REQUEST = b"GET /login HTTP/1.1\r\nHost: desk\r\nConnection: keep-alive\r\n\r\n"


def answer(connection: socket.socket) -> bytes:
    """One whole answer (its headers and Content-Length bytes of body); b"" if closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head


def test_an_idle_connection_still_serves_the_next_request(desk):
    address = urlsplit(desk.base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(REQUEST)
        assert answer(connection).startswith(b"HTTP/1.1 200")
        time.sleep(4)  # twice gunicorn's default keep-alive
        connection.sendall(REQUEST)
        assert answer(connection).startswith(b"HTTP/1.1 200")
