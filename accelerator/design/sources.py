"""YAML files read with the line of every value, and validated so that errors name that line.

PyYAML's ``compose`` keeps each node's position; pydantic reports where a value is wrong as a path
(``loc``) into the data. Walking the path down the node tree turns it into a line of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from accelerator.design.errors import DesignError, Problem

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlSource:
    """A YAML document: its data, its node tree (for lines) and the name errors show for it."""

    label: str
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest node on ``loc`` that exists (a mapping key's own line)."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        line, node = key.start_mark.line + 1, value
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def read_yaml(path: Path, label: str) -> YamlSource:
    """Read one YAML file; a missing file, bad syntax or a key given twice raises ``DesignError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DesignError([Problem(label, None, "file not found")]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise DesignError([Problem(label, line, f"not valid YAML: {error.problem}")]) from None
    duplicates = list(_duplicate_keys(root, label))
    if duplicates:
        raise DesignError(duplicates)
    return YamlSource(label, data, root)


def _duplicate_keys(node: yaml.Node | None, label: str):
    # PyYAML keeps the last of two equal keys without a word: a silently lost setting.
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    first = seen[key.value]
                    yield Problem(label, line, f"'{key.value}' is given twice (first on line {first})")
                seen.setdefault(key.value, line)
            yield from _duplicate_keys(value, label)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, label)


def validate(model: type[M], source: YamlSource, context: dict[str, Any] | None = None) -> M:
    """``model`` validated from the source's data; every error becomes a ``Problem`` at its line."""
    try:
        return model.model_validate(source.data, context=context or {})
    except ValidationError as error:
        raise DesignError(
            Problem(source.label, source.line_of(e["loc"]), describe(e)) for e in error.errors()
        ) from None


def validate_value(model: type[M], data: Any, label: str, context: dict[str, Any] | None = None) -> M:
    """``model`` validated from data that has no file, such as notebook parameters."""
    try:
        return model.model_validate(data, context=context or {})
    except ValidationError as error:
        raise DesignError(Problem(label, None, describe(e)) for e in error.errors()) from None


def describe(error: Any) -> str:
    """A pydantic error as one line: the dotted path to the value, then what is wrong with it."""
    path = ""
    for part in error["loc"]:
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    kind = error["type"]
    if kind == "missing":
        message = "missing: this setting is required"
    elif kind == "extra_forbidden":
        message = "unknown setting (check the spelling against design/README.md)"
    elif kind == "model_type" and not path:
        message = "the file must be a mapping of settings"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return f"{path}: {message}" if path else message
