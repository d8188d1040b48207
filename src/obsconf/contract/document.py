"""A contract file as parsed YAML that remembers the line of every key and list item, for error messages.

:class:`Doc` builds every :class:`~obsconf.errors.ContractError` of the loader: ``file:line``, the path
inside the file (``spans.operations[2].attributes.size_bytes``) and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from obsconf.contract.valuetypes import json_type
from obsconf.errors import ContractError

PathT = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """``("spans", "operations", 2, "name")`` -> ``spans.operations[2].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Doc:
    """The parsed document plus the line of every key and list item, for error messages."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.lines: dict[PathT, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
            problem = getattr(exc, "problem", None) or str(exc)
            raise ContractError(where, "", f"YAML syntax error: {problem}") from None
        if node is None:
            raise ContractError(str(file), "", "the file is empty; a contract needs at least version, seed, service")
        self._walk(node, ())
        # Construct the data with the same loader, so values are exactly what the nodes say.
        self.data = yaml.SafeLoader(text).get_single_data()

    def _walk(self, node: yaml.Node, path: PathT) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    raise ContractError(
                        f"{self.file}:{key_node.start_mark.line + 1}",
                        format_path(path + (key,)),
                        f"duplicate key {key!r}: the later value would silently replace the earlier one",
                    )
                seen.add(key)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                self._walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, path + (index,))

    def line(self, path: PathT) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def where(self, path: PathT) -> str:
        line = self.line(path)
        return f"{self.file.name}:{line}" if line else self.file.name

    def error(self, path: PathT, problem: str) -> ContractError:
        line = self.line(path)
        return ContractError(f"{self.file}:{line}" if line else str(self.file), format_path(path), problem)

    def loc(self, path: PathT) -> str:
        """Short location for findings: ``persist.yaml:42 spans.operations[2]``."""
        return f"{self.where(path)} {format_path(path)}"


#: JSON Schema type name -> how an error message names a value of it
_TYPE_WORDS = {"object": "a mapping", "array": "a list", "boolean": "a boolean", "integer": "a number",
               "number": "a number", "null": "nothing (null)", "string": "a string"}


def type_name(value: Any) -> str:
    """What ``value`` is, in the words of an error message (``a mapping``, ``a list``, ...)."""
    word = _TYPE_WORDS.get(json_type(value) or "")
    return word or f"a YAML {type(value).__name__} (quote it to make it a string)"


def compile_regex(doc: Doc, path: PathT, pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise doc.error(path, f"bad regular expression {pattern!r}: {exc}") from None
    return pattern
