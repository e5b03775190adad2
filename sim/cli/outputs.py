"""A command's output folder: every file written atomically, no earlier result lost.

Each file goes to a temporary name beside its target and is renamed into place (the
store's writers), so a killed command leaves whole files or none. A folder that already
holds one of the files a command is about to write is refused unless ``force``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim.errors import GovsimError
from sim.experiments.store import atomic_write_bytes, atomic_write_parquet

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Outputs:
    """The output files of one command in ``folder``.

    Args:
        folder: where the files go (created now).
        names: the file names the command will write.
        force: replace files an earlier command left there.

    Raises:
        GovsimError: ``folder`` cannot be made, or holds one of ``names`` already and
            ``force`` is not set.
    """

    def __init__(self, folder: Path, names: Iterable[str], force: bool = False) -> None:
        self.folder = folder
        try:  # before any work, so a folder that cannot be made costs nothing
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GovsimError(f"cannot make the output folder {folder} ({exc.strerror or exc})") from None
        earlier = [n for n in names if (folder / n).exists()]
        if earlier and not force:
            more = ", ..." if len(earlier) > 3 else ""
            raise GovsimError(
                f"{folder}: holds the output of an earlier command ({', '.join(earlier[:3])}{more}); "
                "use --force to replace it, or --out for another folder"
            )

    def _write(self, name: str, data: bytes | pd.DataFrame) -> None:
        target = self.folder / name
        try:
            if isinstance(data, pd.DataFrame):
                atomic_write_parquet(target, data)
            else:
                atomic_write_bytes(target, data)
        except OSError as exc:
            raise GovsimError(f"cannot write {target} ({exc.strerror or exc})") from None

    def table(self, df: pd.DataFrame, name: str, csv: bool = False) -> None:
        """``name.parquet``, and ``name.csv`` too if asked."""
        self._write(f"{name}.parquet", df)
        if csv:
            self._write(f"{name}.csv", df.to_csv(index=False).encode())

    def figure(self, fig: Figure, name: str) -> None:
        """A figure as PNG."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        self._write(name, buf.getvalue())

    def text(self, name: str, text: str) -> None:
        """A text file (UTF-8)."""
        self._write(name, text.encode())


def table_files(names: Iterable[str], csv: bool) -> list[str]:
    """The files :meth:`Outputs.table` writes for each of ``names``."""
    return [f"{n}.{ext}" for n in names for ext in (("parquet", "csv") if csv else ("parquet",))]
