"""The results store of an experiment: one folder, files written atomically.

Layout of ``results/<experiment>/``::

    manifest.json           version, git commit, design hash, seeds, timings, run statuses
    design.json             the design as given
    design.parquet          the design table (one row per run)
    runs/<run_id>/          summary.parquet, daily.parquet, cases.parquet (as kept)
                            status.json — written last: ok or failed, file hashes, timings

Every file is written to a temporary name in the same folder and renamed into place,
so no half-written file is ever visible. A run counts as finished only when its
``status.json`` says ``ok`` and every file it lists still has the recorded SHA-256;
anything else (missing, partial, corrupted, failed) is run again on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import GovsimError

STATUS = "status.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""Mode of written files: what ``open`` would give (temporary files are created 0600)."""


def _temporary(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` (same folder, so the rename is atomic), mode as ``open``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    return fd, tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=str).encode())


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> str:
    """Write a table as Parquet atomically; returns the file's SHA-256."""
    fd, tmp = _temporary(path)
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        digest = sha256(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def sha256(path: Path) -> str:
    """The SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit() -> str | None:
    """The project's git commit, if it runs from a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class Store:
    """An experiment's results folder.

    Args:
        root: the folder (created when first written).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def runs_dir(self) -> Path:
        """Folder of the per-run folders."""
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        """Folder of one run."""
        return self.runs_dir / run_id

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if there is none yet."""
        path = self.root / "manifest.json"
        if not path.is_file():
            return None
        try:
            return dict(json.loads(path.read_text()))
        except json.JSONDecodeError:
            return None

    def status(self, run_id: str) -> dict[str, Any] | None:
        """A run's recorded status, or None if it has none (or it is unreadable)."""
        path = self.run_dir(run_id) / STATUS
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            return None

    def finished(self, run_id: str) -> bool:
        """Whether a run is recorded ok and all its files are intact."""
        st = self.status(run_id)
        if st is None or st.get("status") != "ok":
            return False
        for name, digest in st.get("files", {}).items():
            f = self.run_dir(run_id) / name
            if not f.is_file() or sha256(f) != digest:
                return False
        return True

    def prepare(self, design_json: str, design_table: pd.DataFrame, digest: str, fresh: bool) -> None:
        """Create or reopen the store for a design; refuse a store made by another design."""
        old = self.manifest()
        if old is not None and old.get("design_hash") != digest and not fresh:
            raise GovsimError(
                f"{self.root}: holds results of another design (hash {old.get('design_hash')}, "
                f"this design {digest}); use --fresh to discard them or --out for a new folder"
            )
        if fresh and self.runs_dir.exists():
            shutil.rmtree(self.runs_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.root / "design.json", design_json.encode())
        buf = design_table.copy()
        atomic_write_parquet(self.root / "design.parquet", buf)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        atomic_write_json(self.root / "manifest.json", manifest)

    def clear_run(self, run_id: str) -> None:
        """Remove what an unfinished run left, before running it again."""
        d = self.run_dir(run_id)
        if d.exists():
            shutil.rmtree(d)
