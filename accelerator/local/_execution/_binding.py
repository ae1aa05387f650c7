"""Bind a command's ``${{inputs.*}}``, ``${{outputs.*}}`` and ``$[[optional]]`` parts to values.

Azure ML renders each input as its mounted path or literal value and each output as a writable
folder (or file); the local backend does the same with local paths.
"""

from __future__ import annotations

import re
import shlex

_PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs|search_space)\.([A-Za-z_][\w.]*)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)


def placeholders(command: str) -> set[tuple[str, str]]:
    """The (kind, name) pairs a command refers to."""
    return {(kind, name) for kind, name in _PLACEHOLDER.findall(command)}


def render(command: str, inputs: dict[str, str | None], outputs: dict[str, str]) -> str:
    """The command with every placeholder replaced by a shell-quoted value.

    An ``$[[...]]`` block is kept only when every input it names has a value; a required input or
    output with no value is an error naming it.
    """

    def optional(match: re.Match[str]) -> str:
        block = match.group(1)
        needed = [name for kind, name in _PLACEHOLDER.findall(block) if kind == "inputs"]
        return block if all(inputs.get(name) is not None for name in needed) else ""

    def value(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        found = outputs.get(name) if kind == "outputs" else inputs.get(name)
        if found is None:
            raise ValueError(
                f"The command refers to ${{{{{kind}.{name}}}}}, but the job has no {kind[:-1]} '{name}' "
                "with a value."
            )
        return shlex.quote(str(found))

    return _PLACEHOLDER.sub(value, _OPTIONAL.sub(optional, command))
