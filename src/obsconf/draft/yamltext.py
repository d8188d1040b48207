"""YAML text with comments, for drafted contracts: every key can carry the evidence it was drafted from.

PyYAML drops comments, so the draft is built as a small tree (:class:`Block` of :class:`Entry`, :class:`Items`
of :class:`Item`) and rendered here. Plain dicts and lists inside the tree are rendered too (flow style when
they are short and hold only scalars). :func:`data` turns the tree back into plain data, and
:func:`render` checks that the text parses back to exactly that, so a quoting mistake can never produce a
contract that means something else than the draft.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

WIDTH = 110  # the repository's line length; flow lists wrap beyond it

_PLAIN = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_ ./<>@+-]*")


@dataclass
class Entry:
    """One key of a mapping: ``comment`` goes at the end of the key's line, ``above`` on lines before it."""

    key: str
    value: Any
    comment: str = ""
    above: tuple[str, ...] = ()


@dataclass
class Block:
    """A mapping whose keys carry comments."""

    entries: list[Entry] = field(default_factory=list)

    def add(self, key: str, value: Any, comment: str = "", above: tuple[str, ...] = ()) -> Block:
        self.entries.append(Entry(key, value, comment, above))
        return self


@dataclass
class Item:
    """One element of a sequence; ``above`` comment lines precede it."""

    value: Any
    above: tuple[str, ...] = ()


@dataclass
class Items:
    """A sequence whose elements may carry comments."""

    items: list[Item] = field(default_factory=list)


@dataclass
class Comments:
    """Comment lines alone (a TODO where a section cannot be drafted); renders nothing else."""

    lines: tuple[str, ...]


def data(node: Any) -> Any:
    """The plain data a tree stands for (what ``yaml.safe_load`` of the rendered text returns)."""
    if isinstance(node, Block):
        return {e.key: data(e.value) for e in node.entries if not isinstance(e.value, Comments)}
    if isinstance(node, Items):
        return [data(i.value) for i in node.items]
    if isinstance(node, dict):
        return {k: data(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [data(v) for v in node]
    return node


def scalar(value: Any) -> str:
    """One scalar as YAML: plain where that reads back as the same string, else a JSON (double-quoted) string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flow(value: Any) -> str | None:
    """``[a, b]`` or ``{k: v}`` for a list or dict of scalars (None when it holds collections)."""
    if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict) and all(_is_scalar(v) for v in value.values()):
        return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in value.items()) + "}"
    return None


def _wrap_flow_list(head: str, values: list[Any], indent: int) -> list[str]:
    """A flow list too long for one line, continued on lines indented past its key."""
    lines, line = [], head + "["
    pad = " " * (indent + 4)
    parts = [scalar(v) for v in values]
    for i, part in enumerate(parts):
        piece = part + ("," if i < len(parts) - 1 else "]")
        if len(line) + len(piece) + 1 > WIDTH and not line.endswith("["):
            lines.append(line.rstrip())
            line = pad
        line += piece + ("" if i == len(parts) - 1 else " ")
    lines.append(line)
    return lines


def _comment(text: str) -> str:
    return f"  # {text}" if text else ""


def _comment_lines(pad: str, lines: tuple[str, ...]) -> list[str]:
    """Whole-line comments, wrapped at :data:`WIDTH` (continuations indented)."""
    out = []
    for line in lines:
        if not line:
            out.append(f"{pad}#")
            continue
        out += textwrap.wrap(line, WIDTH, initial_indent=f"{pad}# ", subsequent_indent=f"{pad}#   ",
                             break_long_words=False, break_on_hyphens=False)
    return out


def _lines(node: Any, indent: int) -> list[str]:
    """The lines of a mapping or sequence node at ``indent``."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(node, dict):
        node = Block([Entry(str(k), v) for k, v in node.items()])
    if isinstance(node, list | tuple):
        node = Items([Item(v) for v in node])
    if isinstance(node, Block):
        for e in node.entries:
            out += _comment_lines(pad, e.above)
            if isinstance(e.value, Comments):
                out += _comment_lines(pad, e.value.lines)
                continue
            out += _keyed(pad, scalar(e.key), e.value, e.comment, indent)
        return out
    if isinstance(node, Items):
        for item in node.items:
            out += _comment_lines(pad, item.above)
            value = item.value
            if _is_scalar(value) or (_flow(value) is not None and len(_flow(value) or "") < WIDTH - indent - 2):
                out.append(f"{pad}- {scalar(value) if _is_scalar(value) else _flow(value)}")
                continue
            inner = _lines(value, indent + 2)
            # the first line of the element goes after the dash
            out.append(f"{pad}- {inner[0][indent + 2:]}")
            out += inner[1:]
        return out
    raise TypeError(f"cannot render {type(node).__name__} as a block")


def _keyed(pad: str, key: str, value: Any, comment: str, indent: int) -> list[str]:
    head = f"{pad}{key}: "
    if _is_scalar(value):
        return [head + scalar(value) + _comment(comment)]
    empty = (isinstance(value, Block) and not value.entries) or (isinstance(value, Items) and not value.items) \
        or (isinstance(value, dict | list | tuple) and not value)
    if empty:
        return [head + ("{}" if isinstance(value, Block | dict) else "[]") + _comment(comment)]
    flow = _flow(value) if isinstance(value, dict | list | tuple) else None
    if flow is not None:
        if len(head) + len(flow) <= WIDTH:
            return [head + flow + _comment(comment)]
        if isinstance(value, list | tuple):
            lines = _wrap_flow_list(head, list(value), indent)
            lines[0] += _comment(comment)
            return lines
    return [f"{pad}{key}:{_comment(comment)}"] + _lines(value, indent + 2)


def render(doc: Block, header: tuple[str, ...] = ()) -> str:
    """The document as YAML text, ``header`` comment lines first. Raises AssertionError (a bug here, never the
    user's) when the text would not read back as the tree's data."""
    text = "\n".join([f"# {h}" if h else "#" for h in header] + _lines(doc, 0)) + "\n"
    parsed = yaml.safe_load(text)
    if parsed != data(doc):
        raise AssertionError("the drafted YAML does not read back as drafted; please report this with the draft")
    return text
