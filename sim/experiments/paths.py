"""Where outputs go: names that are safe as folder names, and folders kept under ``results/``."""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import GovsimError

RESULTS = Path("results")
"""The results folder (relative to where govsim runs)."""

SLUG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
"""A name that can be a folder name: letters, digits, ``_ . -``, not starting with a dot."""


def slug(name: str, what: str) -> str:
    """``name`` if it is a slug, so a folder named after it stays where it is put.

    Raises:
        GovsimError: naming ``what`` (e.g. "scenario name in FILE") and the bad name.
    """
    if not SLUG.fullmatch(name):
        raise GovsimError(
            f"{what}: {name!r} is not allowed; a name becomes a folder name under {RESULTS}/, so use "
            "up to 100 letters, digits, '_', '-' and '.' (not first)"
        )
    return name


def results_folder(*names: str, what: str = "name") -> Path:
    """``results/<names joined by '-'>``, each name checked to be a slug."""
    return RESULTS / "-".join(slug(n, what) for n in names)
