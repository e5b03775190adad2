"""Posterior draws of a calibrated context: what the parameter uncertainty is made of.

``govsim calibrate`` writes, next to the calibrated context ``NAME.yaml``, the file
``NAME.draws.json``: equally weighted draws from the posterior over the fitted context
parameters, each both as the parameters' values and as the scenario overrides that set
them (``section.field`` paths, as ``--set`` takes them). A command that runs over
posterior draws (``--draws N``) reads the first ``N`` draws (they are independent, in
random order) and runs each scenario under each draw's overrides, with common random
numbers within a draw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.scenarios import builtin_contexts, context_file, load_scenario
from sim.errors import GovsimError, ScenarioError

SUFFIX = ".draws.json"


@dataclass(frozen=True)
class Posterior:
    """Equally weighted posterior draws of a context's fitted parameters.

    Attributes:
        context: the calibrated context's name.
        parameters: the fitted parameters' names.
        values: draws × parameters.
        overrides: per draw, the scenario overrides (``section.field`` → value) that set them.
        source: the command that made them.
    """

    context: str
    parameters: tuple[str, ...]
    values: np.ndarray
    overrides: tuple[dict[str, Any], ...]
    source: str

    def __len__(self) -> int:
        return len(self.overrides)

    def first(self, n: int, where: str = "--draws") -> tuple[dict[str, Any], ...]:
        """The overrides of the first ``n`` draws; a one-line error if there are fewer."""
        if not 1 <= n <= len(self):
            raise ScenarioError(
                where, "", f"{n} draws asked; the posterior of {self.context!r} has {len(self)}"
            )
        return self.overrides[:n]


def draws_file(context: str | Path) -> Path:
    """Where the draws of a context (built-in name or file) are: beside it, ``NAME.draws.json``."""
    path = context_file(context)
    return path.with_name(path.stem + SUFFIX)


def load_posterior(context: str | Path) -> Posterior:
    """The posterior draws of ``context``; a one-line error naming the file if it has none."""
    path = draws_file(context)
    if not path.is_file():
        raise ScenarioError(
            str(path),
            "",
            f"context {str(context)!r} has no posterior draws (run govsim calibrate to make them)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        params = tuple(str(p) for p in data["parameters"])
        values = np.asarray(data["values"], dtype=float).reshape(-1, len(params))
        overrides = tuple(dict(o) for o in data["overrides"])
    except (ValueError, KeyError, TypeError) as err:
        raise ScenarioError(str(path), "", f"not a posterior draws file ({err})") from err
    if len(overrides) != values.shape[0] or not overrides:
        raise ScenarioError(str(path), "overrides", "needs one override set per draw, and at least one draw")
    return Posterior(path.name.removesuffix(SUFFIX), params, values, overrides, str(data.get("source", "")))


def posterior_of(scenarios: Sequence[str | Path], context: str | Path | None = None) -> Posterior:
    """The posterior draws of the context the scenarios run in: ``context`` when given, else
    the built-in context the scenarios name (they must all name the same one).

    Raises:
        GovsimError: the scenarios name different contexts, or a context with no draws file
            (one line naming the file and saying to run ``govsim calibrate``).
    """
    if context is None:
        named = sorted({load_scenario(s).context for s in scenarios})
        if len(named) > 1:
            raise GovsimError(f"--draws: the scenarios run in different contexts {named}; give --context")
        if named[0] not in builtin_contexts():  # a scenario file names its context by path
            raise GovsimError(
                f"--draws: the scenarios' context {named[0]!r} is no built-in; give its file with --context"
            )
        context = named[0]
    return load_posterior(context)


def write_posterior(
    path: Path,
    parameters: Sequence[str],
    values: np.ndarray,
    overrides: Sequence[Mapping[str, Any]],
    source: str,
) -> Path:
    """Write draws beside the context file ``path`` (``NAME.yaml`` → ``NAME.draws.json``)."""
    out = path.with_name(path.stem + SUFFIX)
    data = {
        "source": source,
        "parameters": list(parameters),
        "values": np.round(np.asarray(values, dtype=float), 6).tolist(),
        "overrides": [dict(o) for o in overrides],
    }
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out


__all__ = ["SUFFIX", "Posterior", "draws_file", "load_posterior", "posterior_of", "write_posterior"]
