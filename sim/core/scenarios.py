"""Loading scenarios and contexts from YAML: ``extends:``, contexts, overrides, clear errors.

A *scenario* file holds mechanism sections and names its *context* (``context: town``);
a *context* file (``scenarios/contexts/NAME.yaml``) holds the place and its demand.
Either may ``extends:`` another file of its kind and override parts of it (mappings
merge key by key, lists are replaced). Every leaf value remembers the file it came from,
so a validation error names that file, the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.core.params import CONTEXT_SECTIONS, MECHANISM_SECTIONS, Params
from sim.core.sections import FieldError
from sim.core.yamlfile import parse_yaml, read_yaml
from sim.errors import InvalidYaml, ScenarioError, choice_hint, did_you_mean

SCENARIO_KEYS = (
    "name",
    "description",
    "extends",
    "context",
    "service_distribution",
    "service_cv",
    "growth",
    *MECHANISM_SECTIONS,
)
CONTEXT_KEYS = ("name", "description", "extends", *CONTEXT_SECTIONS)

Origins = dict[tuple[str, ...], str]


def scenario_dir() -> Path:
    """The folder of built-in scenarios: ``$GOVSIM_SCENARIOS`` or the project's ``scenarios/``."""
    env = os.environ.get("GOVSIM_SCENARIOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "scenarios"


def builtin_scenarios() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(p.stem for p in scenario_dir().glob("*.yaml"))


def builtin_contexts() -> list[str]:
    """Names of the built-in contexts, sorted."""
    return sorted(p.stem for p in (scenario_dir() / "contexts").glob("*.yaml"))


def _is_name(ref: str | Path) -> bool:
    """Whether ``ref`` is a built-in's name (a string without folder or suffix), not a path."""
    return isinstance(ref, str) and not ("/" in ref or os.sep in ref or Path(ref).suffix)


def _locate(ref: object, kind: str, source: str, field: str = "", relative_to: Path | None = None) -> Path:
    """The file of a scenario or context given by built-in name or by path.

    A name (no folder, no suffix) is a built-in; anything else is a path, relative to
    ``relative_to`` when given, and must be that file: never a built-in of the same stem.

    Args:
        ref: the name or path.
        kind: ``"scenario"`` or ``"context"``.
        source, field: the file (or flag) and field that gave ``ref``, for errors.
        relative_to: folder of the file that gave ``ref``.

    Raises:
        ScenarioError: naming ``source`` and ``field``, and listing the built-ins.
    """
    known = builtin_contexts() if kind == "context" else builtin_scenarios()
    if not isinstance(ref, str | Path) or not str(ref).strip():
        raise ScenarioError(source, field, f"{ref!r} is not a {kind} name or path; built-in {kind}s: {known}")
    if _is_name(ref):
        folder = scenario_dir() / "contexts" if kind == "context" else scenario_dir()
        path = folder / f"{ref}.yaml"
        if path.is_file():
            return path
        raise ScenarioError(
            source,
            field,
            f"{ref!r} is no built-in {kind} nor the path of a file{did_you_mean(str(ref), known)}; "
            f"built-in {kind}s: {known}",
        )
    path = relative_to / ref if relative_to is not None else Path(ref)
    if path.is_file():
        return path
    raise ScenarioError(source, field, f"no such {kind} file" + ("" if str(path) == source else f": {path}"))


def context_file(ref: str | Path, source: str = "--context") -> Path:
    """The file of a context given by built-in name or by path (a one-line error if none)."""
    return _locate(ref, "context", source)


def _merge(
    base: dict[str, Any], over: Mapping[str, Any], src: str, origins: Origins, path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``, recording where each leaf came from."""
    out = dict(base)
    for key, value in over.items():
        here = (*path, str(key))
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            origins[here] = src  # the last file to touch a section answers for it
            out[key] = _merge(dict(out[key]), value, src, origins, here)
        else:
            out[key] = value
            for p in [p for p in origins if p[: len(here)] == here]:
                del origins[p]
            _record(value, src, origins, here)
    return out


def _record(value: Any, src: str, origins: Origins, path: tuple[str, ...]) -> None:
    origins[path] = src
    if isinstance(value, Mapping):
        for k, v in value.items():
            _record(v, src, origins, (*path, str(k)))


def _load_chain(path: Path, kind: str, origins: Origins, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a file and the files it ``extends``, merged base first."""
    if path.resolve() in seen:
        raise ScenarioError(str(path), "extends", "extends itself (a cycle of extends)")
    data = read_yaml(path, kind)
    allowed = CONTEXT_KEYS if kind == "context" else SCENARIO_KEYS
    for key in data:
        if key not in allowed:
            hint = (
                " (context sections belong in scenarios/contexts/*.yaml)"
                if key in CONTEXT_SECTIONS
                else did_you_mean(str(key), allowed)
            )
            raise ScenarioError(
                str(path), str(key), f"unknown key in a {kind} file{hint}; allowed: {list(allowed)}"
            )
    base: dict[str, Any] = {}
    parent = data.pop("extends", None)
    if parent is not None:
        parent_path = _locate(parent, kind, str(path), "extends", path.parent)
        base = _load_chain(parent_path, kind, origins, (*seen, path.resolve()))
        base.pop("name", None)
        base.pop("description", None)
    return _merge(base, data, str(path), origins)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``a.b.c=value`` into the dotted key and the YAML-parsed value."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError("--set", text, "must look like section.field=value")
    try:
        value = parse_yaml(raw, "--set")
    except InvalidYaml:
        value = raw
    return key.strip(), value


def _nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ScenarioError("--set", key, "sets a field inside a value that is not a section")
        node[parts[-1]] = value
    return out


def load_scenario(
    name_or_path: str | Path | Params, context: str | None = None, overrides: Mapping[str, Any] | None = None
) -> Params:
    """Load, merge and validate a scenario.

    Args:
        name_or_path: a built-in name (``"reform"``), a YAML path, or an already loaded
            :class:`Params` (then only ``context`` and ``overrides`` apply).
        context: a context name or path replacing the one the scenario names.
        overrides: values by dotted path, e.g. ``{"enforcement.squads_per_town": 2}``.

    Returns:
        The frozen, validated parameter tree.

    Raises:
        ScenarioError: naming the file, the field, the bad value and what is allowed.
    """
    origins: Origins = {}
    if isinstance(name_or_path, Params):
        data = name_or_path.model_dump(exclude=set(CONTEXT_SECTIONS) if context else set())
        top = "<python>"
        _record(data, top, origins, ())
    else:
        path = _locate(name_or_path, "scenario", str(name_or_path))
        top = str(path)
        data = _load_chain(path, "scenario", origins)
        data.setdefault("name", path.stem)
    if context or not isinstance(name_or_path, Params):
        data = _with_context(data, context, origins, top)
    if overrides:
        data = _merge(data, _nest(overrides), "--set", origins)
    return _validate(data, origins, top)


def _with_context(data: dict[str, Any], context: str | None, origins: Origins, top: str) -> dict[str, Any]:
    """``data`` with its context's sections: ``context`` (the flag) or the one the scenario names.

    A context path in a file is relative to that file, as ``extends:`` is.
    """
    if context:
        ctx_path = _locate(context, "context", "--context")
    elif ("context",) in origins:
        src = origins[("context",)]
        ctx_path = _locate(data["context"], "context", src, "context", Path(src).parent)
    else:
        ctx_path = _locate("town", "context", top)
    ctx_origins: Origins = {}
    ctx = _load_chain(ctx_path, "context", ctx_origins)
    missing = [s for s in CONTEXT_SECTIONS if s not in ctx and Params.model_fields[s].is_required()]
    if missing:
        problem = "required but missing: a context gives every section, or extends one that does"
        problem += " (extends: town)"
        raise ScenarioError(str(ctx_path), missing[0], problem)
    for key in ("name", "description"):  # the scenario's own, not the context's
        ctx.pop(key, None)
        ctx_origins.pop((key,), None)
    origins.update(ctx_origins)
    return {**ctx, **data, "context": ctx_path.stem}


def _validate(data: dict[str, Any], origins: Origins, top: str) -> Params:
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        cause = err.get("ctx", {}).get("error")
        if not loc and isinstance(cause, FieldError):  # a check across sections, on this field
            loc, msg = tuple(cause.field.split(".")), cause.problem
        src = next((origins[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in origins), top)
        field = ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            hint = did_you_mean(loc[-1], allowed)
            raise ScenarioError(src, field, f"unknown key{hint}; allowed: {allowed}") from None
        if err["type"] == "missing":
            raise ScenarioError(src, field, "required but missing") from None
        if not loc or isinstance(err.get("input"), Mapping):
            raise ScenarioError(src, field, msg) from None
        msg += choice_hint(err)
        raise ScenarioError(src, field, f"{err.get('input')!r} is not allowed: {msg}") from None


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys a section at ``loc`` accepts (walking the pydantic models)."""
    model: Any = Params
    for part in loc:
        fields = getattr(model, "model_fields", {})
        # a key of a mapping (e.g. a category name) steps into the mapping's value type
        ann = fields[part].annotation if part in fields else model
        args = typing.get_args(ann)
        model = args[-1] if typing.get_origin(ann) is dict else ann
        if args and not (isinstance(model, type) and issubclass(model, BaseModel)):
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), model)
    return list(getattr(model, "model_fields", {}))


def validate_file(path: str | Path) -> str:
    """Validate a scenario or context file without running it; returns what it is
    (:func:`_is_context`)."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(str(path), "", "file not found")
    if _is_context(p, read_yaml(p, "scenario or context")):  # checked inside the baseline
        params = load_scenario("baseline", context=str(p))
        return (
            f"context {p.stem}: {params.population.residents} residents, {len(params.categories)} categories"
        )
    params = load_scenario(p)
    return f"scenario {params.name} (context {params.context})"


def _is_context(path: Path, data: dict[str, Any]) -> bool:
    """Whether a file is a context: one in a folder named ``contexts``, or one that has a
    context's sections, none of a scenario's own keys, and does not extend a built-in
    scenario. A scenario file that holds a context's section is so checked as the scenario
    it is, and told where that section belongs."""
    if path.parent.name == "contexts":
        return True
    keys, shared = set(data), {"name", "description", "extends"}
    if not keys & set(CONTEXT_SECTIONS) or keys & (set(SCENARIO_KEYS) - shared):
        return False
    parent = data.get("extends")
    scenario = isinstance(parent, str) and parent in builtin_scenarios() and parent not in builtin_contexts()
    return not scenario
