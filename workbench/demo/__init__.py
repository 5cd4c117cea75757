"""Deterministic synthetic CRM data for a demo company on real geography.

:func:`write_demo` writes the data contract's files (``DESIGN.md``) for an invented B2B supplier
selling in Georgia, USA. **Geography and demographics are real** (159 counties with 1990 census
drivers from libpysal's ``georgia`` example; ZIP points from the ``zipcodes`` package);
**everything about the company is synthetic**, drawn from ``numpy.random.default_rng(seed)``:
one seed always gives byte-identical files. ``demo_provenance.json`` records the sources.

The generative model (history 2023Q4..2026Q3, as of 2026-09-30, no later date)
-------------------------------------------------------------------------------
Geography
    County polygons are simplified as a coverage (shared edges stay shared, contiguity is
    unchanged) and rounded to 5 decimals. Each ZIP county name goes to the polygon holding
    most ZIPs of that name (``"County <FIPS>"`` if none is left).
Accounts
    County ~ population x education; ZIP uniform among the county's street-delivery ZIPs; the
    point is the ZIP point plus ~1 km jitter kept inside the county. The industry mix follows
    rurality. Employees are lognormal per industry (heavy tail); annual spend potential is
    ``v = 2500 * employees**0.8 * industry factor * lognormal(0, 0.55)``.
Competitors
    Four invented competitors; presence in [0, 1] rises with urbanisation and near each one's
    home city. Competitive pressure (mean presence) lowers win and renewal odds.
Reps and alignment
    14 reps in Georgia towns: two left (after 2024Q2 and 2025Q2), one joined in 2025Q1. The
    books drift as real ones do: a balanced ZIP alignment drawn years ago on the accounts as
    they were then (recursive bisection; each part to the nearest rep home), then growth where
    degrees are, leavers' books split in four among the nearest remaining reps, and the new
    hire taking the ZIPs nearest home until the book is 80 % of an average one; a few large
    named accounts are held by another rep. Most of today's books end up 5-45 % off the mean
    (the worst about 55 %), as a real company's do after a few
    years. Skill is a logit shift spread evenly over [-0.6, 0.6].
Opportunities
    Decided on a day of a quarter skewed towards quarter end; counts scale with seasonality
    (Q1 0.8, Q2 1.0, Q3 0.95, Q4 1.25), a 5 %/yr trend and the economy; net customer gains
    add a few % more. *new_business*: about a third of the accounts were customers before the
    history (odds rise with size, industry and skill, fall with competition); the rest are
    pursued at a low rate, winning with
    ``logistic(-1 + industry + skill - 0.3 log10(employees/30) - 1.2 pressure)``; the first win
    makes a customer. *renewal*: yearly in the anniversary quarter (for older customers mostly
    Q4); a lost renewal is churn and ends all business. *expansion*: Poisson per customer
    quarter, rate ~ v**0.45, win logit ``0.4 + skill + 0.5 industry - 0.8 pressure``, amount ~
    v / rate, so large accounts carry most revenue. ``created = decision - cycle`` (lognormal,
    at most 170 days): like a CRM export of every deal closed in the 12 quarters, some were
    created before the window. Deals decided after the as-of date are ``open`` (no
    ``close_date``): the pipeline, created in the last two quarters.
Status, owners, quotas, economy
    ``customer`` = won and not churned; everybody else (churned included) is a ``prospect``.
    Owner = the ZIP's current rep or the named-account rep; ~2 % of prospects unassigned;
    a deal carries the account's rep when it was created. Quota = the rep's mean seasonally
    adjusted bookings x season x growth x 1.06 x noise. The economy is a synthetic AR(1)
    series (``source = synthetic``) that nudges activity.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..config import ParameterError
from .company import _QUARTERS, AS_OF, FIRST_QUARTER, N_QUARTERS
from .simulate import (
    _accounts,
    _geojson,
    _load_georgia,
    _market,
    _quotas,
    _sales_force,
    _shard,
    _simulate,
    _Stats,
    _swot,
    _zip_weight,
)

__all__ = ["AS_OF", "FIRST_QUARTER", "N_QUARTERS", "SUPPORTED_REGIONS", "DemoResult", "write_demo"]

SUPPORTED_REGIONS: dict[str, str] = {"GA": "Georgia, USA (159 counties, 1990 census)"}


@dataclass(frozen=True)
class DemoResult:
    """What :func:`write_demo` wrote: folder, files, row counts and headline realism facts.

    ``facts`` holds ``customer_share``, ``top20_share`` (share of the last four quarters' won
    revenue carried by the top 20 % of customers), ``book_ratio`` (largest / smallest active
    rep's book of last-four-quarter revenue under the current alignment) and
    ``opportunities_per_account``.
    """

    out: Path
    region: str
    seed: int
    n_accounts: int
    files: tuple[str, ...]
    rows: Mapping[str, int]
    facts: Mapping[str, float]

    def summary(self) -> str:
        """A short human-readable text summary."""
        f = self.facts
        return "\n".join(
            [
                f"Synthetic demo company (region {self.region}, seed {self.seed}, as of {AS_OF}) "
                f"written to {self.out}",
                *(
                    f"  {name:<22}{self.rows[name]:>12,} rows"
                    for name in self.files
                    if name in self.rows
                ),
                f"  customers: {f['customer_share']:.0%} of accounts; the top 20% of customers "
                f"carry {f['top20_share']:.0%} of the last 4 quarters' won revenue",
                f"  current alignment: the largest active rep's book is {f['book_ratio']:.1f}x the "
                "smallest",
                "  everything about the company is synthetic (see demo_provenance.json)",
            ]
        )


FORMATS = ("csv", "parquet")
SHARD_ACCOUNTS = 100_000
"""Accounts drawn (and opportunities written) at a time by the Parquet writer."""


def write_demo(
    out: str | os.PathLike[str],
    *,
    region: str = "GA",
    seed: int = 7,
    n_accounts: int = 3000,
    format: str = "csv",
    shard_accounts: int = SHARD_ACCOUNTS,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Write a deterministic synthetic company on real geography into ``out``.

    ``format="csv"`` (default) writes the contract's CSV files from one random stream.
    ``format="parquet"`` writes a large company as a Parquet lake, streaming: the market and
    the sales force are drawn once (the legacy alignment from a sample of
    ``shard_accounts`` accounts), then accounts are drawn ``shard_accounts`` at a time, each
    shard from its own stream ``default_rng([seed, shard + 1])`` with its deal history, and
    written as ``accounts/part-NNNNN.parquet`` and ``opportunities/part-NNNNN.parquet``, so
    memory stays that of one shard whatever ``n_accounts``; the other tables are single
    Parquet files. Same seed and shard size, same files.

    Parameters
    ----------
    out : str or path-like
        Output folder (created if missing). Every file is built in a temporary sibling folder
        and then moved into place, so a failure never leaves half-written files.
    region : str
        Demo market, one of :data:`SUPPORTED_REGIONS` (currently only ``"GA"``: Georgia).
    seed : int
        Random seed (>= 0); the same seed gives byte-identical files.
    n_accounts : int
        Number of accounts (50 to 5,000,000 as CSV, to 50,000,000 as Parquet); opportunities
        scale with it (~18 per account).
    format : {"csv", "parquet"}
        CSV files (default) or a Parquet lake (see above).
    shard_accounts : int
        Accounts per shard of the Parquet writer (1,000 to 1,000,000).
    progress : callable, optional
        Receives a line per Parquet shard written.

    Returns
    -------
    DemoResult
        Output folder, files written, row counts and headline facts; ``.summary()`` is text.

    Raises
    ------
    ParameterError
        (a ``ValueError``) for an unknown region or an invalid seed or account count.

    Examples
    --------
    >>> import tempfile
    >>> result = write_demo(tempfile.mkdtemp(), n_accounts=200)
    >>> result.rows["accounts.csv"], result.rows["geo_units.csv"]
    (200, 159)
    """
    key = str(region).strip().upper()
    if key not in SUPPORTED_REGIONS:
        supported = ", ".join(SUPPORTED_REGIONS)
        raise ParameterError(f"unknown region {region!r}; supported regions: {supported}")
    for name, value in (("seed", seed), ("n_accounts", n_accounts)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ParameterError(f"{name} must be an integer, got {value!r}")
    if format not in FORMATS:
        raise ParameterError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    top = 50_000_000 if format == "parquet" else 5_000_000
    if not 50 <= n_accounts <= top:
        raise ParameterError(
            f"n_accounts must be between 50 and {top:,} for {format}, got {n_accounts}"
        )
    if not 1_000 <= shard_accounts <= 1_000_000:
        raise ParameterError(
            f"shard_accounts must be between 1,000 and 1,000,000, got {shard_accounts}"
        )
    if seed < 0:
        raise ParameterError(f"seed must be >= 0, got {seed}")

    geo = _load_georgia()
    provenance = {
        "synthetic": True,
        "generator": "workbench demo",
        "seed": int(seed),
        "region": key,
        "n_accounts": int(n_accounts),
        "as_of": AS_OF.isoformat(),
        "history": [str(_QUARTERS[0]), str(_QUARTERS[N_QUARTERS - 1])],
        "sources": [
            {
                "what": "county polygons (geography) and 1990 census demographics",
                "source": "libpysal example 'georgia' (G_utm.shp)",
                "licence": "BSD-3-Clause",
            },
            {
                "what": "ZIP code points, cities and county names",
                "source": "zipcodes package",
                "licence": "MIT (data: GeoNames CC BY 4.0, USPS)",
            },
        ],
        "note": "Everything about the company (accounts, opportunities, reps, quotas, "
        "competitors, economy) is synthetic",
    } | ({"format": "parquet", "shard_accounts": shard_accounts} if format == "parquet" else {})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.demo-", dir=out.parent))
    try:
        if format == "parquet":
            rows, facts = _write_lake(
                tmp, geo, int(seed), int(n_accounts), shard_accounts, progress
            )
        else:
            tables, facts = _simulate(geo, np.random.default_rng(int(seed)), int(n_accounts))
            for name, table in tables.items():
                _write_csv(table, tmp / name)
            rows = {name: t.num_rows for name, t in tables.items()}
        text = json.dumps(_geojson(geo.units, geo.polys), separators=(",", ":"))
        (tmp / "geo_units.geojson").write_text(text + "\n", encoding="utf-8")
        text = json.dumps(provenance, indent=2)
        (tmp / "demo_provenance.json").write_text(text + "\n", encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        for name in files:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows |= {"geo_units.geojson": len(geo.units)}
    return DemoResult(out, key, int(seed), int(n_accounts), files, rows, facts)


def _write_lake(
    folder: Path,
    geo,
    seed: int,
    n: int,
    shard_accounts: int,
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, int], dict]:
    """The Parquet company of :func:`write_demo`, one shard of accounts at a time."""
    import pyarrow.parquet as pq

    say = progress or (lambda message: None)
    rng = np.random.default_rng([seed, 0])
    mkt = _market(geo.units, rng)
    reps = _sales_force(
        geo, _zip_weight(geo, _accounts(geo, mkt, min(n, shard_accounts), rng)), rng
    )
    stats = _Stats(reps)
    acc_width, opp_width = max(6, len(str(n))), max(8, len(str(40 * n)))
    shards = -(-n // shard_accounts)
    for name in ("accounts", "opportunities"):
        (folder / name).mkdir()
    for k in range(shards):
        m = min(shard_accounts, n - k * shard_accounts)
        shard_rng = np.random.default_rng([seed, k + 1])
        a = _accounts(geo, mkt, m, shard_rng)
        shard = _shard(
            geo, mkt, reps, a, shard_rng, k * shard_accounts, stats.n_opp, acc_width, opp_width
        )
        for name in ("accounts", "opportunities"):
            pq.write_table(
                getattr(shard, name), folder / name / f"part-{k:05d}.parquet", compression="zstd"
            )
        stats.add(shard)
        say(f"shard {k + 1}/{shards}: {stats.n:,} accounts, {stats.n_opp:,} opportunities")
    tables = {
        "geo_units": pa.Table.from_pandas(geo.units, preserve_index=False),
        "reps": reps.table,
        "quotas": _quotas(stats, mkt, reps, rng),
        "competitors": mkt.competitors,
        "economy": mkt.economy,
        "swot": _swot(stats, geo, mkt, reps),
    }
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
    rows = {f"{name}.parquet": t.num_rows for name, t in tables.items()}
    rows |= {"accounts": stats.n, "opportunities": stats.n_opp}  # Parquet folders
    return rows, stats.facts()


def _write_csv(table: pa.Table, path: Path) -> None:
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())  # our names need no quotes
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        try:  # plain CSV when no value needs quoting (ids, numbers, names without commas)
            pacsv.write_csv(table, f, options)
        except pa.ArrowInvalid:  # some text holds a comma or a quote: quote text values
            f.seek(0)
            f.truncate()
            pacsv.write_csv(table, f)
