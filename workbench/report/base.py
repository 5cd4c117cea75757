"""The report's error and result types, and the path and spec aliases its parts share."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

PathLike = str | os.PathLike[str]
Spec = dict[str, tuple[str, object]]


class ReportError(Exception):
    """The report could not be built; the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """A finished report.

    Attributes
    ----------
    quarter : str
        The planning quarter, ``YYYYQn``.
    folder : Path
        The report folder, ``<out_dir>/<quarter>``.
    notebooks : tuple of (str, float)
        Notebook file name and run time in seconds, in run order.
    seconds : float
        Wall-clock time of the whole run, exports included.
    """

    quarter: str
    folder: Path
    notebooks: tuple[tuple[str, float], ...]
    seconds: float

    @property
    def index(self) -> Path:
        """The report's entry page."""
        return self.folder / "index.html"

    def summary(self) -> str:
        """A few lines for the terminal: where the report is and how long each notebook took."""
        count, width = len(self.notebooks), max((len(n) for n, _ in self.notebooks), default=0)
        lines = [
            f"report {self.quarter}: {count} notebook{'s' * (count != 1)} in {self.seconds:.1f} s",
            *(f"  {name:<{width}}  {sec:7.1f} s" for name, sec in self.notebooks),
            f"open {self.index}",
        ]
        return "\n".join(lines)
