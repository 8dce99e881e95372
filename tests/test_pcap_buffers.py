"""The capture reader reuses its block buffers only when nothing references them any more."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy.sources.pcap import walk
from ucnstudy.sources.pcap.reader import read_blocks


def _capture(path: Path, sizes: list[int]) -> list[bytes]:
    """A pcap file of raw Ethernet records with random bytes; the records' data."""
    rng = random.Random(7)
    datas = [bytes(rng.randrange(256) for _ in range(size)) for size in sizes]
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(datas):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(data), len(data)) + data)
    return datas


def _records(blocks: list) -> list[bytes]:
    return [bytes(b.raw[o:o + c]) for b in blocks for o, c in zip(b.offset.tolist(), b.caplen.tolist(),
                                                                    strict=True)]


def test_blocks_kept_alive_are_never_overwritten(tmp_path: Path) -> None:
    rng = random.Random(3)
    datas = _capture(tmp_path / "c.pcap", [rng.randrange(1, 1500) for _ in range(3000)])
    kept = list(read_blocks(str(tmp_path / "c.pcap"), lambda message, packet: None, 4096))
    assert len(kept) > 100
    assert _records(kept) == datas


def test_reused_buffers_hold_the_same_records_and_zero_padding(tmp_path: Path) -> None:
    rng = random.Random(5)
    datas = _capture(tmp_path / "c.pcap", [rng.randrange(1, 3000) for _ in range(2000)])
    seen: list[bytes] = []
    ids = set()
    for block in read_blocks(str(tmp_path / "c.pcap"), lambda message, packet: None, 8192):
        ids.add(id(block.raw))
        seen.extend(_records([block]))
        end = int((block.offset + block.caplen).max())
    assert not any(block.raw[end:])  # a reused buffer's old bytes are zeroed after the data
    assert seen == datas
    assert len(ids) <= 4  # the buffers were reused


def test_records_longer_than_the_carry_room_cross_blocks_intact(tmp_path: Path) -> None:
    # 64 KiB blocks and records up to 300 KB: the incomplete record at a block's end is often
    # longer than CARRY_ROOM (128 KiB), which takes the fresh-buffer path
    sizes = [300_000, 40, 200_000, 131_072, 131_073, 60, 250_000, 1]
    datas = _capture(tmp_path / "big.pcap", sizes)
    problems: list[str] = []
    blocks = list(read_blocks(str(tmp_path / "big.pcap"), lambda message, packet: problems.append(message),
                              1 << 16))
    assert _records(blocks) == datas and not problems


def test_gzip_capture_read_ahead_gives_the_same_records(tmp_path: Path) -> None:
    rng = random.Random(11)
    datas = _capture(tmp_path / "c.pcap", [rng.randrange(1, 1500) for _ in range(2000)])
    (tmp_path / "c.pcap.gz").write_bytes(gzip.compress((tmp_path / "c.pcap").read_bytes()))
    blocks = list(read_blocks(str(tmp_path / "c.pcap.gz"), lambda message, packet: None, 5000))
    assert _records(blocks) == datas


def test_a_truncated_gzip_stream_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    datas = _capture(tmp_path / "c.pcap", [700] * 400)
    whole = gzip.compress((tmp_path / "c.pcap").read_bytes(), compresslevel=1)
    (tmp_path / "cut.pcap.gz").write_bytes(whole[:len(whole) // 2])
    problems: list[str] = []
    blocks = list(read_blocks(str(tmp_path / "cut.pcap.gz"), lambda message, packet: problems.append(message),
                              8192))
    got = _records(blocks)
    assert 0 < len(got) < len(datas) and got == datas[:len(got)]
    assert any("compressed stream ends" in p for p in problems)


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), max_size=20), tail=st.binary(max_size=60), cut=st.integers(0, 30),
       start=st.integers(0, 3), big_endian=st.booleans(), max_record=st.sampled_from([0, 24, 1 << 22]))
def test_compiled_walk_equals_the_python_walk(sizes: list[int], tail: bytes, cut: int, start: int,
                                              big_endian: bool, max_record: int) -> None:
    assert walk.COMPILED  # the extension is built by `make venv` (pip install -e .)
    order = ">" if big_endian else "<"
    raw = bytes(start) + b"".join(struct.pack(order + "IIII", 1, 0, n, n) + bytes(n) for n in sizes) + tail
    buf = memoryview(bytearray(raw[:max(0, len(raw) - cut)]))
    fast, fast_words, stop_fast = walk.record_heads(buf, start, big_endian, max_record)
    slow, slow_words, stop_slow = walk.record_heads_py(buf, start, big_endian, max_record)
    assert fast.tolist() == slow.tolist() and stop_fast == stop_slow
    assert fast_words.tolist() == slow_words.tolist()


def test_walk_of_well_formed_records_finds_every_record() -> None:
    rng = random.Random(2)
    sizes = [rng.randrange(0, 300) for _ in range(200)]
    raw = bytearray(b"\x00" * 5)  # the walk starts at offset 5
    expected = []
    for size in sizes:
        expected.append(len(raw))
        raw += struct.pack(">IIII", 1_700_000_000 + size, size * 7, size, size + 3) + bytes(size)
    raw += struct.pack(">IIII", 1, 0, 50, 50) + bytes(10)  # an incomplete last record
    for heads_of in (walk.record_heads, walk.record_heads_py):
        heads, words, stop = heads_of(memoryview(raw), 5, True, 1 << 22)
        assert heads.tolist() == expected and stop == len(raw) - 26
        assert words.tolist() == [[1_700_000_000 + n, n * 7, n, n + 3] for n in sizes]
