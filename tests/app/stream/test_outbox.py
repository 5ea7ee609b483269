"""The outbox on a real socket pair: pieces framed as gunicorn frames its own (chunked for
HTTP/1.1), written without blocking when the client reads nothing, and a piece the socket
took only part of finished whole by its rest, so the connection's bytes stay well formed."""

import socket
import threading
import time

import pytest

from botdesk.app.stream.outbox import Outbox, send_now


def _pair(send_buffer: int | None = None):
    server, client = socket.socketpair()
    if send_buffer:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    server.settimeout(5)  # as the stream route does: non-blocking underneath
    client.settimeout(5)
    return server, client


def _read_all(client: socket.socket) -> bytes:
    got = b""
    client.setblocking(False)
    try:
        while chunk := client.recv(1 << 20):
            got += chunk
    except BlockingIOError:
        pass
    return got


def _read_to_end(client: socket.socket, into: bytearray) -> None:
    while chunk := client.recv(65536):
        into += chunk


def test_pieces_are_chunk_framed_for_http_1_1_and_plain_for_http_1_0():
    for chunked, expected in ((True, b"5\r\nhello\r\n3\r\nabc\r\n"), (False, b"helloabc")):
        server, client = _pair()
        outbox = Outbox(server, chunked=chunked, capacity=10)
        assert outbox.put(1, b"hello") and outbox.put(2, b"abc")
        outbox.flush()
        assert _read_all(client) == expected
        assert outbox.last_seq == 2 and len(outbox) == 0


def test_a_client_that_reads_nothing_never_blocks_the_writer_and_is_bounded():
    server, client = _pair(send_buffer=4096)
    outbox = Outbox(server, chunked=True, capacity=50)
    frame = b"x" * 1000
    for seq in range(1, 51):
        assert outbox.put(seq, frame)
    outbox.flush()  # returns at once with the socket full, however long the client sleeps
    assert 0 < len(outbox) < 50
    assert outbox.put(51, frame)
    while outbox.put(52, frame):
        pass
    assert len(outbox) == 50  # full: the caller drops the client
    begun = outbox.last_seq
    rest = outbox.discard()
    assert len(outbox) == 0
    received = bytearray()
    reader = threading.Thread(target=_read_to_end, args=(client, received))
    reader.start()  # the client reads again
    server.sendall(rest)  # the handler finishes the piece begun, then ends the response
    server.sendall(b"0\r\n\r\n")
    server.shutdown(socket.SHUT_WR)
    reader.join()
    body, sizes = bytes(received), []
    while body:
        size, _, body = body.partition(b"\r\n")
        sizes.append(int(size, 16))
        assert body[int(size, 16) : int(size, 16) + 2] == b"\r\n"
        body = body[int(size, 16) + 2 :]
    assert sizes[-1] == 0 and set(sizes[:-1]) == {1000}  # every chunk whole
    assert len(sizes) - 1 == begun  # ...up to the last one begun, told as last_seq


def test_a_client_that_hung_up_raises_so_the_hub_ends_its_stream():
    server, client = _pair()
    client.close()
    outbox = Outbox(server, chunked=False, capacity=10)
    outbox.put(1, b"data")
    try:
        for _ in range(3):  # the first write after a hang-up may still be taken
            outbox.put(None, b": keep-alive\n\n")
            outbox.flush()
    except OSError:
        return
    raise AssertionError("writing to a closed peer raised nothing")


def test_a_client_that_takes_nothing_for_a_while_is_stalled_one_that_reads_is_not():
    """A client that stops reading in a quiet spell holds one keep-alive, never enough to be
    dropped: it is let go once nothing has left for the stall time instead."""
    server, client = _pair(send_buffer=4096)
    outbox = Outbox(server, chunked=False, capacity=1000)
    later = time.monotonic() + 31
    assert not outbox.stalled(now=later, after=30)  # nothing waits: only quiet
    while not len(outbox):  # fill its socket, then one more waits
        outbox.put(None, b"x" * 1000)
        outbox.flush()
    assert not outbox.stalled(now=time.monotonic(), after=30)
    assert outbox.stalled(now=later, after=30)
    _read_all(client)  # it reads again: the rest leaves, nothing waits
    while len(outbox):
        outbox.flush()
        _read_all(client)
    assert not outbox.stalled(now=later, after=30)


def test_a_send_never_waits_even_on_a_blocking_socket():
    """The poller must never sit in one client's send: MSG_DONTWAIT, whatever the socket's
    own mode (here blocking, with no timeout)."""
    server, client = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    server.setblocking(True)
    sent = 0
    with pytest.raises(BlockingIOError):
        for _ in range(10_000):  # far more than its buffer holds
            sent += send_now(server, b"x" * 1000)
    assert sent > 0
    client.close()
    with pytest.raises(OSError) as gone:
        send_now(server, b"x")
    assert not isinstance(gone.value, BlockingIOError)  # gone, not merely full
