"""Config errors, worded in the config's own vocabulary.

`ConfigError` names the file and the dotted key (`markets[1].prize_precision`). `explain` rewrites
msgspec's validation messages ("Object contains unknown field `x` - at `$.markets[1]`") into the
same words: the key path, what TOML type was found, and for money the quoted string to write.
msgspec's path is reliable; dict keys show as `[...]`, so the offending entry is found again in
the raw data.
"""

from __future__ import annotations

import decimal
import re
from typing import Any

import msgspec.inspect as mi

__all__ = ["ConfigError", "explain", "show", "toml_key", "unwrap"]


class ConfigError(Exception):
    """A configuration that cannot start the venue; the message names the file and key."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        super().__init__(message)
        self.source = source
        #: Dotted key path such as "markets[0].min_amount", or None for whole-file problems.
        self.key = key


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_TOML_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a float",
    "bool": "a boolean",
    "object": "a table",
    "array": "an array",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}


def explain(error: str, raw: Any, root: type) -> tuple[str, str]:
    """Return (key path, message) for a msgspec validation error on the raw TOML data decoded
    into `root` (the whole file's struct)."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any text
    what, path = match["what"], match["path"] or ""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        parts.append(name if name else ("..." if index == "..." else int(index)))

    if m := re.match(r"Object contains unknown field `(.*)`$", what):
        key = _join([*parts, m[1]])
        return key, f"unknown key {_quote(key)}"
    if m := re.match(r"Object missing required field `(.*)`$", what):
        key = _join([*parts, m[1]])
        return key, f"missing required key {_quote(key)}"

    got_type = m[1] if (m := re.search(r", got `(\w+)`$", what)) else None
    parts, value = _locate(raw, parts, got_type)
    key = _join(parts)
    expected = _type_at(root, parts)

    if what.startswith("Invalid enum value") and isinstance(expected, mi.LiteralType):
        options = ", ".join(show(v) for v in expected.values)
        return key, f"{key}: {show(value)} is not one of {options}"
    if got_type is not None:
        if _is_money(expected) and got_type in ("int", "float"):
            return key, (
                f"{key}: {show(value)} is a TOML number; money must be a quoted decimal string "
                f'so it is read exactly, quote it: {toml_key(str(parts[-1]))} = "{_plain(value)}"'
            )
        got = _TOML_TYPES.get(got_type, got_type)
        if not isinstance(value, (dict, list)):
            got += f" {show(value)}"
        return key, f"{key}: expected {_describe(expected, parts[-1] if parts else '')}, got {got}"
    if m := re.match(r"Expected `[^`]+` (.+)$", what):  # a range or length constraint
        return key, f"{key}: must be {m[1]}, got {show(value)}"
    return key, f"{key}: {what}"


def _locate(raw: Any, parts: list[str | int], got_type: str | None) -> tuple[list[str | int], Any]:
    """Follow a path through the raw data; `...` (an unnamed dict key) becomes the first key
    whose value has the type msgspec complained about."""
    resolved: list[str | int] = []
    node = raw
    for part in parts:
        if part == "..." and isinstance(node, dict):
            part = next((k for k, v in node.items() if _has_type(v, got_type)), next(iter(node), "?"))
        resolved.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return resolved, None
    return resolved, node


def _has_type(value: Any, got_type: str | None) -> bool:
    kinds: dict[str, type | tuple[type, ...]] = {"str": str, "float": float, "object": dict, "array": list}
    if got_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return got_type in kinds and isinstance(value, kinds[got_type])


def _type_at(root: type, parts: list[str | int]) -> Any:
    """The msgspec.inspect type expected at a path, or None when the path leaves the schema."""
    node: Any = mi.type_info(root)
    for part in parts:
        node = unwrap(node)
        if isinstance(node, mi.StructType) and isinstance(part, str):
            node = next((f.type for f in node.fields if f.encode_name == part), None)
        elif isinstance(node, (mi.ListType, mi.VarTupleType)):
            node = node.item_type
        elif isinstance(node, mi.DictType):
            node = node.value_type
        else:
            return None
    return unwrap(node, keep_money=True)


def unwrap(node: Any, keep_money: bool = False) -> Any:
    """Strip `X | None` (TOML has no null) and, unless asked to keep it, Annotated metadata."""
    if isinstance(node, mi.UnionType):
        members = [t for t in node.types if not isinstance(t, mi.NoneType)]
        if len(members) == 1:
            node = members[0]
    if isinstance(node, mi.Metadata) and not keep_money:
        node = node.type
    return node


def _is_money(node: Any) -> bool:
    return isinstance(node, mi.Metadata) and bool((node.extra or {}).get("money"))


def _describe(node: Any, name: str | int = "") -> str:
    if _is_money(node):
        return "a quoted decimal string"
    node = unwrap(node)
    if isinstance(node, mi.StrType):
        return "a string"
    if isinstance(node, mi.BoolType):
        return "true or false"
    if isinstance(node, mi.IntType):
        return "an integer"
    if isinstance(node, mi.FloatType):
        return "a number"
    if isinstance(node, mi.LiteralType):
        return "one of " + ", ".join(show(v) for v in node.values)
    if isinstance(node, (mi.ListType, mi.VarTupleType)):
        if isinstance(unwrap(node.item_type), mi.StructType):
            return (
                f"an array of tables ([[{name}]])" if isinstance(name, str) and name else "an array of tables"
            )
        return "an array"
    if isinstance(node, (mi.StructType, mi.DictType)):
        return "a table"
    return "another type"


def _join(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{toml_key(part)}" if out else toml_key(part))
    return out


def toml_key(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else '"' + name.replace('"', '\\"') + '"'


def _quote(key: str) -> str:
    return f'"{key}"' if '"' not in key else f"'{key}'"


def show(value: Any) -> str:
    """A value as TOML would write it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    return str(value)


def _plain(value: Any) -> str:
    """A TOML number as a plain decimal string (1e-07 -> 0.0000001) for the suggested fix.
    Only used to write the message: the value itself is refused."""
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f")
    return str(value)
