"""NDJSON spooling and reading (SPEC §16): line limits across pieces, offsets to resume at."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from milestones.api.events.ndjson import NdjsonReader, count_lines, spool
from milestones.domain.errors import InvalidInput, PayloadTooLarge
from milestones.domain.jobs import MAX_LINE_BYTES

EVENT = b'{"eventId": "e"}'


async def _pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _spool(body: bytes, path: Path, size: int = 7) -> int:
    return asyncio.run(spool(_pieces(body, size), path))


@pytest.mark.parametrize("size", [1, 3, 16, 17, 4096])
def test_lines_are_counted_whatever_the_pieces(tmp_path: Path, size: int) -> None:
    body = b"\n".join([EVENT, b"", b"x", EVENT]) + b"\n" + EVENT  # the last without newline
    assert _spool(body, tmp_path / "a", size) == 5
    assert (tmp_path / "a").read_bytes() == body


@pytest.mark.parametrize("size", [1000, 65536, MAX_LINE_BYTES + 10])
@pytest.mark.parametrize(("extra", "refused"), [(0, False), (1, True)])
def test_a_line_of_one_megabyte_is_taken_and_one_byte_more_is_refused(
    tmp_path: Path, size: int, extra: int, refused: bool
) -> None:
    long = b'{"a": "' + b"x" * (MAX_LINE_BYTES - 9 + extra) + b'"}'
    assert len(long) == MAX_LINE_BYTES + extra
    body = EVENT + b"\n" + long + b"\r"[:0] + b"\n" + EVENT + b"\n"
    path = tmp_path / "big"
    if refused:
        with pytest.raises(PayloadTooLarge, match="line 2:"):
            _spool(body, path, size)
        assert not path.exists()
    else:
        assert _spool(body, path, size) == 3


@pytest.mark.parametrize("body", [b"[1]\n", b"{\n}\n", b"a,b\n", b'"text"\n', b"\xff\xfe\n"])
def test_a_first_line_that_is_no_json_object_is_not_ndjson(tmp_path: Path, body: bytes) -> None:
    with pytest.raises(InvalidInput, match="not NDJSON: line 1"):
        _spool(body, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_blank_lines_before_the_first_event_are_allowed(tmp_path: Path) -> None:
    assert _spool(b"\n  \n" + EVENT, tmp_path / "x", 2) == 3


def _read(path: Path, offset: int = 0, line: int = 0) -> list[tuple[int, bytes | None, int]]:
    with NdjsonReader(path, offset, line) as reader:
        return [(read.number, read.text, read.end) for read in reader]


@pytest.mark.parametrize("name", ["events.ndjson", "events.ndjson.gz"])
def test_a_reader_resumed_at_an_offset_reads_the_rest_with_their_numbers(
    tmp_path: Path, name: str
) -> None:
    body = b"a\r\nbb\n\nccc"
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    lines = _read(path)
    assert lines == [(1, b"a", 3), (2, b"bb", 6), (3, b"", 7), (4, b"ccc", 10)]
    assert _read(path, 6, 2) == lines[2:]
    assert count_lines(path) == 4


def test_a_reader_skips_a_line_too_long_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "long.ndjson"
    path.write_bytes(b"a\n" + b"y" * (MAX_LINE_BYTES + 1) + b"\nb\n")
    lines = _read(path)
    assert [(number, text) for number, text, _ in lines] == [(1, b"a"), (2, None), (3, b"b")]
    assert lines[1][2] == MAX_LINE_BYTES + 4
