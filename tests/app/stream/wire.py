"""What a stream client's end of a socket pair has been written so far."""

import socket


def written(client: socket.socket) -> list[tuple[str, dict[str, str]]]:
    """Each event or comment block so far: its text and its fields (`id`, `event`, `data`)."""
    got = b""
    try:
        while chunk := client.recv(1 << 20):
            got += chunk
    except BlockingIOError:
        pass
    return [
        (block, dict(line.partition(": ")[::2] for line in block.split("\n")))
        for block in got.decode().split("\n\n")[:-1]
    ]
