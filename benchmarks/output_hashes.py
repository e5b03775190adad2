"""Guard for structural changes: hashes of every shipped scenario's outputs.

A refactoring that must not change the model records the hashes before it starts and
checks them after: ``summary``, ``cases`` and ``daily`` of every shipped scenario for
seeds 0-2 on the town context (120 days), and of every scenario on the Wujiang context
(30 days, seed 0). Run from the project root::

    python benchmarks/output_hashes.py --write   # record benchmarks/output_hashes.json
    python benchmarks/output_hashes.py           # check against it; exit 1 on a difference

The hashes are exact (bit for bit), so they hold on one machine and library set; a change
meant to alter the model records them anew (``--write``) in the same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

import sim
from sim.core.scenarios import builtin_scenarios

REFERENCE = Path(__file__).with_name("output_hashes.json")


def _digest(frame: pd.DataFrame | pd.Series) -> str:
    df = frame.to_frame() if isinstance(frame, pd.Series) else frame
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def runs() -> list[tuple[str, str, int, int]]:
    """(scenario, context, seed, days) of every run hashed."""
    names = builtin_scenarios()
    town = [(s, "town", seed, 120) for s in names for seed in range(3)]
    return town + [(s, "wujiang", 0, 30) for s in names]


def hashes() -> dict[str, dict[str, str]]:
    out = {}
    for scenario, context, seed, days in runs():
        res = sim.run(sim.load_scenario(scenario, context=context), seed=seed, days=days)
        key = f"{scenario}/{context}/seed{seed}/{days}d"
        out[key] = {t: _digest(getattr(res, t)) for t in ("summary", "cases", "daily")}
        print(key, out[key], flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record the reference instead of checking")
    args = ap.parse_args()
    now = hashes()
    if args.write:
        REFERENCE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {REFERENCE}")
        return 0
    ref = json.loads(REFERENCE.read_text())
    diff = [k for k in sorted(set(ref) | set(now)) if ref.get(k) != now.get(k)]
    for k in diff:
        print(f"DIFFERS {k}: reference {ref.get(k)} now {now.get(k)}")
    print(f"{len(now) - len(diff)} of {len(now)} runs identical")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
