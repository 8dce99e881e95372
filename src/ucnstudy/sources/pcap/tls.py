"""The server name (SNI) of a TLS ClientHello, possibly spread over several TCP segments."""

from __future__ import annotations

import struct

MAX_HELLO = 16 * 1024 + 5


def hello_length(data: bytes) -> int | None:
    """Total bytes of the TLS record holding a ClientHello, or None when data is not one."""
    if len(data) < 6 or data[0] != 0x16 or data[1] != 3 or data[5] != 1:
        return None
    return 5 + struct.unpack_from("!H", data, 3)[0]


def server_name(data: bytes) -> str | None:
    """SNI host name from a complete ClientHello record; None when absent or malformed."""
    try:
        return _server_name(data)
    except (struct.error, IndexError, UnicodeDecodeError):
        return None


def _server_name(data: bytes) -> str | None:
    pos = 5 + 4 + 2 + 32  # record header, handshake header, client version, random
    pos += 1 + data[pos]  # session id
    pos += 2 + struct.unpack_from("!H", data, pos)[0]  # cipher suites
    pos += 1 + data[pos]  # compression methods
    end = min(len(data), pos + 2 + struct.unpack_from("!H", data, pos)[0])
    pos += 2
    while pos + 4 <= end:
        ext_type, ext_len = struct.unpack_from("!HH", data, pos)
        pos += 4
        if ext_type == 0:  # server_name: list length, then (type, length, name) entries
            item = pos + 2
            while item + 3 <= pos + ext_len:
                name_type, name_len = data[item], struct.unpack_from("!H", data, item + 1)[0]
                if name_type == 0:
                    name = data[item + 3:item + 3 + name_len]
                    return name.decode("ascii").lower().rstrip(".") or None
                item += 3 + name_len
            return None
        pos += ext_len
    return None
