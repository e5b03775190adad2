"""The error hierarchy: every error a user can cause, with a message that says what to do."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any


class GovsimError(Exception):
    """Base of all errors the CLI reports as one line and exit status 2."""


class ScenarioError(GovsimError):
    """A scenario, context or design file (or an override) is missing or invalid.

    Args:
        source: the file (or ``--set``) the bad value came from.
        field: dotted path of the field, or empty for the whole file.
        problem: what is wrong and what is allowed.
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source, self.field, self.problem = source, field, problem
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + problem)


class InvalidYaml(ScenarioError):
    """Text that is not valid YAML (a ``--set`` value then counts as a plain string)."""


def did_you_mean(names: str | Iterable[str], choices: Iterable[str]) -> str:
    """The hint for mistyped ``names`` among ``choices``: `` (did you mean 'x'?)``, with the
    choice closest to each name that has a close one (:func:`difflib.get_close_matches`,
    its default cutoff), or ``""`` when none has."""
    options = list(choices)
    wanted = [names] if isinstance(names, str) else list(names)
    close = [match[0] for name in wanted if (match := difflib.get_close_matches(name, options, n=1))]
    return f" (did you mean {', '.join(map(repr, dict.fromkeys(close)))}?)" if close else ""


def choice_hint(err: Mapping[str, Any]) -> str:
    """For a validation error (pydantic's, as a mapping) of a text outside a set of choices
    (a ``Literal`` or an enum), the choice meant (:func:`did_you_mean`); else ``""``."""
    if err.get("type") not in ("literal_error", "enum") or not isinstance(err.get("input"), str):
        return ""
    return did_you_mean(err["input"], re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", ""))))
