"""One summary for every results object (statsmodels' ``Summary`` idea).

A results object's ``summary()`` returns a :class:`Summary`: a pandas table (so it can be
indexed, compared and tested like any frame) that also carries a title, a few lines of notes and
further tables. Its ``as_text()`` and ``as_html()`` are the only renderers: a results object's
``__repr__`` and ``_repr_html_`` derive from them (:class:`Results`), so the text a terminal
prints and the page a notebook shows never disagree.

>>> s = Summary({"value": [0.12, 3]}, index=["gap", "moved"], title="Plan", notes=["feasible"])
>>> print(s.as_text())
Plan
feasible
       value
gap     0.12
moved   3.00
>>> s.loc["moved", "value"]
np.float64(3.0)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import pandas as pd

__all__ = ["TWO_DECIMALS", "Results", "Summary"]

#: Floats with thousands separators and two decimals (``1,234.50``): the tables of a summary.
TWO_DECIMALS: Callable[[float], str] = "{:,.2f}".format


class Summary(pd.DataFrame):
    """A table with a title, notes (one line each) and further ``(heading, table)`` sections.

    Parameters
    ----------
    data, index, columns
        As for :class:`pandas.DataFrame`: the main table.
    title : str
        One line naming what is summarised.
    notes : sequence of str
        Sentences shown above the table (findings, caveats).
    sections : sequence of (str, DataFrame) or (str, DataFrame, float_format)
        Further tables shown after the main one, each under its heading (and written with its
        own float format when one is given).
    float_format : callable, optional
        How floats are written in both renderings (the main table, and sections without one).
    """

    _metadata: ClassVar[list[str]] = ["title", "notes", "sections", "float_format"]

    def __init__(
        self,
        data: Any = None,
        index: Any = None,
        columns: Any = None,
        *,
        title: str = "",
        notes: Iterable[str] = (),
        sections: Iterable[tuple] = (),
        float_format: Callable[[float], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, index=index, columns=columns, **kwargs)
        self.title = title
        self.notes = tuple(notes)
        self.sections = tuple(sections)
        self.float_format = float_format

    @property
    def _constructor(self) -> Callable[..., Summary]:
        return Summary

    @property
    def table(self) -> pd.DataFrame:
        """The main table as a plain DataFrame."""
        return pd.DataFrame(self)

    def as_text(self) -> str:
        """Title, notes, the table and each section, as plain text."""
        parts = [p for p in (self.title, *self.notes) if p]
        parts.append(_text(self.table, self.float_format))
        for heading, frame, fmt in self._sections():
            parts += ["", heading, _text(frame, fmt)]
        return "\n".join(parts)

    def as_html(self) -> str:
        """Title, notes, the table and each section, as an HTML fragment (escaped)."""
        out = [f"<h4>{html.escape(self.title)}</h4>"] if self.title else []
        out += [f"<p>{html.escape(n)}</p>" for n in self.notes]
        out.append(self.table.to_html(na_rep="", float_format=self.float_format))
        for heading, frame, fmt in self._sections():
            out.append(f"<h5>{html.escape(heading)}</h5>")
            out.append(frame.to_html(na_rep="", float_format=fmt))
        return "\n".join(out)

    def _sections(self) -> list[tuple[str, pd.DataFrame, Callable[[float], str] | None]]:
        return [(s[0], s[1], s[2] if len(s) > 2 else self.float_format) for s in self.sections]

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def _text(frame: pd.DataFrame, float_format: Callable[[float], str] | None) -> str:
    return frame.to_string(na_rep="", float_format=float_format)


class Results:
    """Mixin: ``__repr__`` and ``_repr_html_`` derived from ``summary()``.

    Frozen dataclasses using it must say ``repr=False`` (a dataclass writes its own
    ``__repr__`` otherwise).
    """

    def summary(self) -> Summary:  # pragma: no cover - every results class defines it
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def sections_of(sections: Sequence[tuple]) -> tuple:
    """The sections that hold a table (None and empty tables left out)."""
    return tuple(s for s in sections if s[1] is not None and len(s[1]))
