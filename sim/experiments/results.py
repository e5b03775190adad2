"""Reading an experiment's results store as tables, and querying it with SQL (DuckDB).

``sim.experiments.results.open("results/my_experiment")`` gives the design table, the runs' status,
and the stacked summaries, daily tables and case ledgers of finished runs, always in
design order (never in the order runs happened to finish). Every row of the stacked
tables carries its run's keys (run id, scenario, point, replication, seed) and the
point's parameter values, so each is one flat table, as in SQL (:meth:`Results.query`).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from sim.core.steady import STEADY_COLUMNS
from sim.errors import GovsimError
from sim.experiments.stability import stability
from sim.experiments.store import Store

KEYS = ("run_id", "scenario", "point", "draw", "replication", "seed")
"""The columns that identify a run (``draw`` only in designs run over posterior draws)."""


class Results:
    """An experiment's stored results.

    Args:
        path: the store folder, or an experiment name under ``results/``.
    """

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        if not (p / "design.parquet").is_file() and (Path("results") / p / "design.parquet").is_file():
            p = Path("results") / p
        if not (p / "design.parquet").is_file():
            raise GovsimError(
                f"{path}: no experiment results here (no design.parquet); run govsim batch first"
            )
        self.path = p
        self._store = Store(p)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """The manifest (provenance, seeds, timings, statuses).

        A manifest left ``running`` by a batch that no longer holds the store (it was
        killed outright) reads ``interrupted``.
        """
        m = self._store.manifest() or {}
        if m.get("status") == "running" and not self._store.busy():
            m["status"] = "interrupted"
        return m

    @cached_property
    def design(self) -> pd.DataFrame:
        """One row per run: run id, scenario, point, draw (if any), replication, seed, varied parameters."""
        return _read_table(self.path / "design.parquet")

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run of the design with its status (``ok``, ``failed`` or ``missing``)."""
        rows = []
        for run_id in self.design["run_id"]:
            st = self._store.status(run_id) or {"status": "missing"}
            rows.append(
                {
                    "run_id": run_id,
                    "status": st.get("status"),
                    "error": st.get("error"),
                    "seconds": st.get("seconds"),
                    "peak_rss_mb": st.get("peak_rss_mb"),
                    "started_at": st.get("started_at"),
                    "finished_at": st.get("finished_at"),
                }
            )
        return pd.DataFrame(rows)

    def _files(self, name: str) -> list[Path]:
        ok = self.runs.loc[self.runs["status"] == "ok", "run_id"]
        files = [self._store.run_dir(r) / f"{name}.parquet" for r in ok]
        return [f for f in files if f.is_file()]

    def _stack(self, name: str) -> pd.DataFrame:
        """A per-run table of finished runs, stacked in design order, keys and parameters first."""
        files = self._files(name)
        if not files:
            return pd.DataFrame()
        table = pd.concat([_read_table(f) for f in files], ignore_index=True)
        own = [c for c in table.columns if c in self.design.columns and c != "run_id"]
        return self.design.merge(table.drop(columns=own), on="run_id")

    @cached_property
    def parameters(self) -> list[str]:
        """The varied parameters (columns of the design besides the keys)."""
        return [c for c in self.design.columns if c not in KEYS]

    @cached_property
    def kpis(self) -> list[str]:
        """The KPI columns of :attr:`summaries` (not the steady-state verdict, :attr:`steady`)."""
        return [c for c in self.summaries.columns if c not in {*self.design.columns, *STEADY_COLUMNS}]

    @property
    def steady(self) -> pd.DataFrame:
        """Whether each scenario (at each point) reached a steady state
        (:func:`sim.experiments.stability.stability` of the runs' verdicts)."""
        return stability(self.summaries)

    @cached_property
    def summaries(self) -> pd.DataFrame:
        """One row per finished run: keys, the point's parameter values, then the KPIs."""
        return self._stack("summary")

    @cached_property
    def daily(self) -> pd.DataFrame:
        """The daily tables of finished runs, stacked, each row with its run's keys and parameters."""
        return self._stack("daily")

    @property
    def cases(self) -> pd.DataFrame:
        """The case ledgers of finished runs (when the design kept them), with keys and parameters."""
        return self._stack("cases")

    def query(self, sql: str) -> pd.DataFrame:
        """Run DuckDB SQL over the views ``design``, ``runs``, ``summaries``, ``daily``, ``cases``.

        ``summaries``, ``daily`` and ``cases`` carry the design's columns, as in Python.
        """
        con = duckdb.connect()
        try:
            con.register("design", self.design)
            con.register("runs", self.runs)
            for name, stem in (("summaries", "summary"), ("daily", "daily"), ("cases", "cases")):
                files = [str(f) for f in self._files(stem)]
                if files:
                    names = dict.fromkeys(c for f in files for c in _columns(f))
                    own = ", ".join(f't."{c}"' for c in names if c not in self.design.columns)
                    con.execute(
                        f"CREATE VIEW {name} AS SELECT d.*, {own} FROM design d JOIN "
                        f"read_parquet({json.dumps(files)}, union_by_name = true) t USING (run_id)"
                    )
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise GovsimError(f"query failed: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()


def _read_table(path: Path) -> pd.DataFrame:
    """A stored table, or one line saying which file is damaged and how to mend it."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise GovsimError(
            f"{path}: damaged ({str(exc).splitlines()[0]}); run govsim batch on the design again "
            "to redo what is damaged"
        ) from None


def _columns(path: str) -> list[str]:
    """A stored table's column names (read from its footer), or one line if it is damaged."""
    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise GovsimError(
            f"{path}: damaged ({str(exc).splitlines()[0]}); run govsim batch on the design again "
            "to redo what is damaged"
        ) from None


def open(path: str | Path) -> Results:  # noqa: A001 - the documented API is sim.experiments.results.open
    """Open an experiment's results store (see :class:`Results`)."""
    return Results(path)


__all__ = ["Results", "open"]
