"""Reading YAML input (scenarios, contexts, designs, ``--set`` values) within limits.

A hostile or mistaken file must stop with one line naming it, never exhaust memory or
the interpreter's stack. So reading refuses: a file larger than :data:`MAX_BYTES`; text
that is not UTF-8; nesting deeper than :data:`MAX_DEPTH`; more than :data:`MAX_VALUES`
values once aliases are expanded (a "billion laughs" of a few hundred bytes); and a key
given twice in one mapping (YAML's merge key ``<<`` still lets a mapping override what it
merges). These limits are far above anything a scenario or design needs.

A text parsed once is kept (its values, by text): a batch worker loads its scenario, the
base and the context for every run, and PyYAML's pure-Python parser takes about 10 ms a
load where a copy of the values takes 0.1 ms.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from sim.errors import InvalidYaml, ScenarioError

MAX_BYTES = 1 << 20
"""Largest YAML file read (1 MiB; the built-in town context is 5 kB)."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists (a scenario needs 4)."""
MAX_VALUES = 100_000
"""Most values (mappings, lists and scalars) in one document, aliases expanded."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit and duplicate keys refused."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r}; a key may appear once in a mapping",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_size(data: Any, source: str) -> None:
    """Refuse documents whose expanded size or depth exceeds the limits (walks at most MAX_VALUES)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ScenarioError(source, "", f"more than {MAX_VALUES:,} values once aliases are expanded")
        if depth > MAX_DEPTH:
            raise ScenarioError(source, "", f"nested deeper than {MAX_DEPTH} levels (through aliases)")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document within the limits: a copy of its values, which the caller
    may change (a text parsed before is not parsed again).

    Args:
        text: the YAML text.
        source: what to name in errors (a file, or ``--set``).

    Raises:
        InvalidYaml: not valid YAML, a duplicate key or nesting too deep (with the line).
        ScenarioError: too many values once aliases are expanded.
    """
    return copy.deepcopy(_parsed(text, source))


@functools.lru_cache(maxsize=16)
def _parsed(text: str, source: str) -> Any:
    """The values of a YAML text (:func:`parse_yaml`), kept by text; errors are raised
    again on each call (they are not kept)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: builds only plain values
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else ""
        raise InvalidYaml(source, line, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    _check_size(data, source)
    return data


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a non-empty mapping.

    Args:
        path: the file.
        what: what the file should be, for messages (``"scenario"``, ``"design"``, ...).

    Raises:
        ScenarioError: naming the file: unreadable, too large, not UTF-8, not valid YAML,
            empty, or not a mapping.
    """
    src = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError(src, "", f"larger than {MAX_BYTES // 1024} kB; a {what} file is a few kB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(src, "", f"cannot read file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(src, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    data = parse_yaml(text, src)
    if data is None:
        raise ScenarioError(src, "", f"empty; a {what} file needs at least one key")
    if not isinstance(data, dict):
        raise ScenarioError(src, "", "must be a mapping of keys to values")
    return data
