"""A stream client's frames on their way into its socket, written by the worker's poller.

The poller writes every client's waiting frames in one pass (one `send` per client), so a
tick costs one thread's work however many clients listen, instead of waking one thread
per client. Each send is non-blocking (MSG_DONTWAIT) and keeps the interpreter lock: it
takes microseconds, while letting go of the lock around it, as Python's own socket calls
do, hands the lock to a busy page thread of the same worker for up to the switch interval
(5 ms) per client, so 50 clients could wait 250 ms for one tick (the "convoy effect";
bench/stream_latency.py showed it in the stream's p99 on PostgreSQL). What the socket
does not take now waits for the next pass, at most `capacity` frames.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import socket
import time
from collections import deque

KEEP_ALIVE = b": keep-alive\n\n"
PIECES_PER_WRITE = 64  # frames per send
_LATER = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR}
_FLAGS = int(socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)  # once: an enum's | costs per call
_libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: a call keeps the interpreter lock
_libc.send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
_libc.send.restype = ctypes.c_ssize_t


def send_now(sock: socket.socket, data: bytes) -> int:
    """send(2) what the socket takes now, holding the interpreter lock; how many bytes.
    BlockingIOError: it takes nothing now; OSError: the client is gone."""
    sent = _libc.send(sock.fileno(), data, len(data), _FLAGS)
    if sent >= 0:
        return sent
    error = ctypes.get_errno()
    if error in _LATER:
        raise BlockingIOError(error, os.strerror(error))
    raise OSError(error, os.strerror(error))


class Outbox:
    """Frames written to one client's socket as it takes them. HTTP/1.1 responses without
    a length are chunked (gunicorn frames what the handler yields): `chunked` frames each
    piece the same way, so the poller's writes and gunicorn's interleave cleanly."""

    def __init__(self, sock: socket.socket, *, chunked: bool, capacity: int):
        self.sock = sock
        self.chunked = chunked
        self.capacity = capacity
        self.last_seq: int | None = None  # the newest event begun on the wire
        self.written_at = time.monotonic()  # when a byte last left
        self._waiting_since = 0.0  # when the outbox last went from empty to not
        self._waiting: deque[tuple[int | None, bytes]] = deque()
        self._offset = 0  # bytes of the first waiting piece already written

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, seq: int | None, data: bytes) -> bool:
        """Queue one event (`seq`) or comment (None); False when `capacity` already wait."""
        if len(self._waiting) >= self.capacity:
            return False
        if self.chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        if not self._waiting:
            self._waiting_since = time.monotonic()
        self._waiting.append((seq, data))
        return True

    def stalled(self, *, now: float, after: float) -> bool:
        """Whether frames have waited `after` seconds without the client taking a byte
        (it stopped reading: let it go, as a blocking write's timeout would)."""
        return bool(self._waiting) and now - max(self.written_at, self._waiting_since) >= after

    def flush(self) -> None:
        """Write what the socket takes now. OSError: the client is gone."""
        while self._waiting:
            batch = list(itertools.islice(self._waiting, PIECES_PER_WRITE))
            data = b"".join([batch[0][1][self._offset :], *(data for _, data in batch[1:])])
            try:
                sent = send_now(self.sock, data)
            except BlockingIOError:
                return  # its buffer is full: the rest goes at a later pass
            self.written_at = time.monotonic()
            sent += self._offset
            while self._waiting and sent >= len(self._waiting[0][1]):
                seq, data = self._waiting.popleft()
                sent -= len(data)
                self._begun(seq)
            self._offset = sent
            if sent:  # the socket took part of a piece: it is full for now
                self._begun(self._waiting[0][0])
                return

    def _begun(self, seq: int | None) -> None:
        if seq is not None:
            self.last_seq = seq

    def discard(self) -> bytes:
        """Drop every waiting piece but the one begun; returns that one's unwritten rest,
        which must be written before anything else goes on this connection."""
        rest = b""
        if self._waiting and self._offset:
            rest = self._waiting[0][1][self._offset :]
        self._waiting.clear()
        self._offset = 0
        return rest
