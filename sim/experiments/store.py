"""The results store of an experiment: one folder, files written atomically.

Layout of ``results/<experiment>/``::

    manifest.json           version, git commit, design hash, seeds, timings, run statuses
    design.json             the design as given
    design.parquet          the design table (one row per run)
    runs/<run_id>/          summary.parquet, daily.parquet, cases.parquet (as kept)
                            status.json — written last: ok or failed, file hashes, timings

Every file is written to a temporary name in the same folder and renamed into place,
so no half-written file is ever visible. A run counts as finished only when its
``status.json`` says ``ok``, names this design's hash, and every file it lists still has
the recorded SHA-256; anything else (missing, partial, corrupted, failed, another
design's) is run again on resume. A batch holds the store's lock (``.lock``, released
by the system however the process ends), so two batches never write one store at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import GovsimError

STATUS = "status.json"
LOCK = ".lock"


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


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
        """The manifest, or None if there is none yet (or it is unreadable)."""
        return _read_json(self.root / "manifest.json")

    def status(self, run_id: str) -> dict[str, Any] | None:
        """A run's recorded status, or None if it has none (or it is unreadable)."""
        return _read_json(self.run_dir(run_id) / STATUS)

    def finished(self, run_id: str, design_hash: str) -> dict[str, Any] | None:
        """A run's status if it is recorded ok for this design and all its files are intact."""
        st = self.status(run_id)
        if st is None or st.get("status") != "ok" or st.get("design_hash") != design_hash:
            return None
        for name, digest in st.get("files", {}).items():
            f = self.run_dir(run_id) / name
            if not f.is_file() or sha256(f) != digest:
                return None
        return st

    def design_hashes(self) -> set[str]:
        """The hashes of the designs whose results the store holds (manifest and runs alike).

        The runs' own records count, so a lost or corrupted manifest cannot make the
        store take another design's runs as its own.
        """
        found = set()
        old = self.manifest()
        if old is not None and old.get("design_hash"):
            found.add(str(old["design_hash"]))
        if self.runs_dir.is_dir():
            for d in self.runs_dir.iterdir():
                st = self.status(d.name)
                if st is not None and st.get("design_hash"):
                    found.add(str(st["design_hash"]))
        return found

    def prepare(self, design_json: str, design_table: pd.DataFrame, digest: str, fresh: bool) -> None:
        """Create or reopen the store for a design; refuse a store holding another design's results."""
        others = sorted(self.design_hashes() - {digest})
        if others and not fresh:
            raise GovsimError(
                f"{self.root}: holds results of another design (hash {', '.join(others)}; "
                f"this design {digest}); discard them with --fresh (compare: --force), "
                "or use --out for a new folder"
            )
        if fresh and self.runs_dir.exists():
            shutil.rmtree(self.runs_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.root / "design.json", design_json.encode())
        atomic_write_parquet(self.root / "design.parquet", design_table)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for one batch; refuse if another process holds it.

        Raises:
            GovsimError: another batch is running on this store.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = (self.root / LOCK).read_text().strip() or "another process"
                raise GovsimError(
                    f"{self.root}: another batch is running on this store ({holder}); "
                    "wait for it to finish, or use --out for another folder"
                ) from None
            os.ftruncate(fd, 0)
            when = datetime.now(UTC).isoformat(timespec="seconds")
            os.write(fd, f"pid {os.getpid()}, since {when}".encode())
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def busy(self) -> bool:
        """Whether a batch holds the store now."""
        try:
            fd = os.open(self.root / LOCK, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        atomic_write_json(self.root / "manifest.json", manifest)

    def clear_run(self, run_id: str) -> None:
        """Remove what an unfinished run left, before running it again."""
        d = self.run_dir(run_id)
        if d.exists():
            shutil.rmtree(d)
