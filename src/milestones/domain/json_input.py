"""Reading JSON input strictly: exact decimals, each key once, valid Unicode, bounded size.

A body is read in one fast pass (the standard library's C parser, one small hook per
object). Only when that pass meets something suspect (a duplicate key, a ``\\ud800``-style
escape, bytes that are not UTF-8, an integer of thousands of digits) is it read again,
slowly, to find *where* each fault is, so that a caller can refuse just the part at fault
(one event of a bulk call) and name the field.

Example: ``read_json(b'{"a": 1.5, "a": 2}').faults`` is
``[Fault(path=("a",), problem="the key 'a' appears more than once in one object")]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from milestones.domain.errors import PayloadTooLarge

MAX_VALUES = 1_250_000
"""JSON values (objects, arrays, scalars) one body may hold: a 16 MiB bulk of real events
holds about 1.1 million; a hostile one of ``{}``s would hold 5 million."""
_MAX_INT_DIGITS = 4300  # Python's own limit for reading an integer from text
_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
LONE_SURROGATE = "text must be valid Unicode (UTF-8, no lone surrogate such as \\ud800)"


class Fault(NamedTuple):
    """One thing wrong at one place: ``path`` is keys and indexes from the top."""

    path: tuple[str | int, ...]
    problem: str


@dataclass(frozen=True)
class Parsed:
    """A body read: its value (faulty parts replaced by ``None``) and its faults."""

    value: Any
    faults: list[Fault]


class _Suspect(Exception):
    """The fast pass met something the slow pass must look at."""


def read_json(
    data: bytes | str, *, too_large_field: str | None = None, max_values: int = MAX_VALUES
) -> Parsed:
    """Read a JSON body; syntax errors raise :class:`json.JSONDecodeError`.

    Over ``max_values`` values raises :class:`PayloadTooLarge` (naming
    ``too_large_field``) before anything is built.
    """
    text, clean = _text(data)
    _check_size(data, too_large_field, max_values)
    if clean and not ("\\u" in text and _SURROGATE_ESCAPE.search(text)):
        try:
            return Parsed(_loads(text, _unique_object, int), [])
        except _Suspect:
            pass
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) or "digits" not in str(exc):
                raise _decode_error(exc, text) from exc
    return _read_slowly(text)


def fault_field(path: tuple[str | int, ...]) -> str:
    """``("events", 0, "transaction", "billAmount")`` -> ``events[0].transaction.billAmount``."""
    field = ""
    for part in path:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field = f"{field}.{part}" if field else part
    return field


def _text(data: bytes | str) -> tuple[str, bool]:
    """The body as text, and whether it is clean UTF-8 (bad bytes become lone surrogates)."""
    if isinstance(data, str):
        return data.removeprefix(_BOM), _SURROGATE.search(data) is None
    try:
        return data.decode("utf-8").removeprefix(_BOM), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape").removeprefix(_BOM), False


def _check_size(data: bytes | str, field: str | None, max_values: int) -> None:
    # A value takes at least two characters ("0,"), so short bodies need no counting; the
    # count of commas and openings bounds the values, and strings' own commas are dropped
    # only when that bound is over.
    if len(data) <= 2 * max_values:
        return
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    if _structure_count(raw) <= max_values:
        return
    if _structure_count(_STRING.sub(b'""', raw)) > max_values:
        raise PayloadTooLarge(f"the body holds more than {max_values:,} JSON values", field)


def _structure_count(raw: bytes) -> int:
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _loads(text: str, on_object: Any, on_int: Any) -> Any:
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=on_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=on_object,
        )
    except RecursionError as exc:
        raise json.JSONDecodeError("nested too deeply", text, 0) from exc


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Suspect
    return value


def _decode_error(exc: ValueError, text: str) -> json.JSONDecodeError:
    if isinstance(exc, json.JSONDecodeError):
        return exc
    return json.JSONDecodeError(str(exc), text, 0)


# --- the slow pass: where each fault is ----------------------------------------------


class _BadNumber:
    """An integer too long to read, standing where it was."""


class _Object(dict[str, Any]):
    """An object whose keys broke a rule: ``key_faults`` says which and how."""

    key_faults: list[tuple[str, str]]


def _marking_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    faults: list[tuple[str, str]] = []
    for key, item in pairs:
        shown = _shown(key)
        if shown != key:
            faults.append((shown, f"the key '{shown[:100]}' is not valid Unicode"))
            continue
        if key in value:
            faults.append((key, f"the key '{key[:100]}' appears more than once in one object"))
        value[key] = item
    if not faults:
        return value
    marked = _Object(value)
    marked.key_faults = faults
    return marked


def _marking_int(text: str) -> int | _BadNumber:
    return _BadNumber() if len(text.lstrip("-")) > _MAX_INT_DIGITS else int(text)


def _shown(text: str) -> str:
    """The text with each lone surrogate written as its escape (``\\ud800``)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _read_slowly(text: str) -> Parsed:
    try:
        value = _loads(text, _marking_object, _marking_int)
    except ValueError as exc:
        raise _decode_error(exc, text) from exc
    if isinstance(value, str | _BadNumber):
        holder = [value]
        faults = list(_faults_in(holder, ()))
        return Parsed(holder[0], [Fault(path[1:], problem) for path, problem in faults])
    return Parsed(value, list(_faults_in(value, ())))


def _faults_in(top: Any, top_path: tuple[str | int, ...]) -> Iterator[Fault]:
    """Each fault under ``top``; the faulty values themselves become ``None``."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(top, top_path)]
    while stack:
        container, path = stack.pop()
        children: list[tuple[Any, tuple[str | int, ...]]] = []
        if isinstance(container, dict):
            for key, problem in getattr(container, "key_faults", ()):
                yield Fault((*path, key), problem)
            slots: Any = container.items()
        else:
            slots = enumerate(container)
        for slot, item in list(slots):
            if isinstance(item, str):
                if _SURROGATE.search(item) is not None:
                    container[slot] = None
                    yield Fault((*path, slot), LONE_SURROGATE)
            elif isinstance(item, _BadNumber):
                container[slot] = None
                yield Fault((*path, slot), "a number has too many digits")
            elif isinstance(item, dict | list):
                children.append((item, (*path, slot)))
        stack.extend(reversed(children))
