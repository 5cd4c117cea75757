"""The large-data path at a small scale: the streaming Parquet generator, a lake ingest, and
the engine's facts and KPI deal sums against independent computations in plain Python."""

from __future__ import annotations

from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from workbench.config import Quarter
from workbench.demo import write_demo
from workbench.ingest import DEALS_NAME, FACTS_NAME, ingest
from workbench.io import load, read_manifest


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """2,500 accounts in three shards of 1,000, ingested."""
    root = tmp_path_factory.mktemp("large")
    lines: list[str] = []
    result = write_demo(
        root / "lake", seed=3, n_accounts=2500, format="parquet", shard_accounts=1000,
        progress=lines.append,
    )  # fmt: skip
    out = root / "processed"
    ingest(root / "lake", out)
    return root / "lake", out, result, lines


def test_the_generator_writes_shards_of_a_lake(lake, tmp_path):
    folder, _, result, lines = lake
    parts = sorted(p.name for p in (folder / "opportunities").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [line.split(":")[0] for line in lines] == ["shard 1/3", "shard 2/3", "shard 3/3"]
    accounts = pq.read_table(folder / "accounts").to_pandas()
    opps = pq.read_table(folder / "opportunities").to_pandas()
    assert len(accounts) == 2500 == result.rows["accounts"]
    assert len(opps) == result.rows["opportunities"]
    assert accounts["account_id"].is_unique and opps["opportunity_id"].is_unique
    assert set(opps["account_id"]) <= set(accounts["account_id"])
    # the third shard holds the last 500 accounts and only their deals
    last = pq.read_table(folder / "accounts" / "part-00002.parquet").column("account_id")
    assert last.to_pylist() == [f"A{i:06d}" for i in range(2001, 2501)]
    third = pq.read_table(folder / "opportunities" / "part-00002.parquet").to_pandas()
    assert set(third["account_id"]) <= set(last.to_pylist())
    # about 17 opportunity lines per account, as the demo's model draws them
    assert 12 < len(opps) / len(accounts) < 24
    # same seed and shard size, same company
    again = write_demo(tmp_path / "again", seed=3, n_accounts=2500, format="parquet",
                       shard_accounts=1000)  # fmt: skip
    assert again.rows == result.rows and again.facts == result.facts
    for name in ("accounts", "opportunities", "quotas.parquet"):
        assert pq.read_table(tmp_path / "again" / name).equals(pq.read_table(folder / name))


def test_bad_generator_settings_are_refused(tmp_path):
    from workbench.config import ParameterError

    with pytest.raises(ParameterError, match="format must be one of csv, parquet"):
        write_demo(tmp_path / "x", format="orc")
    with pytest.raises(ParameterError, match="between 50 and 5,000,000 for csv"):
        write_demo(tmp_path / "x", n_accounts=6_000_000)
    with pytest.raises(ParameterError, match="shard_accounts must be between"):
        write_demo(tmp_path / "x", format="parquet", shard_accounts=10)
    assert not (tmp_path / "x").exists()


def _quarter(d) -> str:
    return str(Quarter.from_date(d))


def test_facts_match_a_plain_python_count(lake):
    """won/lost by close quarter, created by created quarter, summed per account × rep ×
    quarter in a plain loop over the raw lines."""
    folder, out, _, _ = lake
    opps = pq.read_table(folder / "opportunities").to_pylist()
    want: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0, 0.0, 0, 0, 0.0])
    for o in opps:
        amount = float(o["amount_usd"])
        row = want[(o["account_id"], o["rep_id"], _quarter(o["created_date"]))]
        row[4] += 1
        row[5] += amount
        if o["stage"] in ("won", "lost"):
            row = want[(o["account_id"], o["rep_id"], _quarter(o["close_date"]))]
            k = 0 if o["stage"] == "won" else 2
            row[k] += amount
            row[k + 1] += 1
    facts = load(FACTS_NAME, out)
    assert len(facts) == len(want)
    got = {
        (r.account_id, r.rep_id, r.quarter): [
            r.won_usd, r.won_n, r.lost_usd, r.lost_n, r.created_n, r.created_usd,
        ]
        for r in facts.itertuples()
    }  # fmt: skip
    assert got.keys() == want.keys()
    for key, values in want.items():
        assert got[key] == pytest.approx(values, abs=1e-6), key


def test_kpi_deal_sums_match_a_quarter_by_quarter_walk(lake):
    """Every deal walked through the quarters it was open in, by hand: pipeline at the start
    and end, won and lost in the quarter, the won deal's cycle."""
    folder, out, _, _ = lake
    opps = pq.read_table(folder / "opportunities").to_pylist()
    latest = max(max(o["created_date"], o["close_date"] or o["created_date"]) for o in opps)
    last = Quarter.from_date(latest)
    want: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * 8)
    for o in opps:
        amount, created, closed = float(o["amount_usd"]), o["created_date"], o["close_date"]
        q = Quarter.from_date(created)
        end = Quarter.from_date(closed) if closed else last
        while q.index <= end.index:
            start, nxt = q.start, (q + 1).start
            row = want[(o["account_id"], o["rep_id"], str(q))]
            closed_in = closed is not None and start <= closed < nxt
            if closed_in and o["stage"] == "won":
                row[0] += amount
                row[1] += 1
                row[4] += (closed - created).days
            if closed_in and o["stage"] == "lost":
                row[2] += amount
                row[3] += 1
            row[5] += amount if created < start else 0.0
            row[6] += amount if closed is None or closed >= nxt else 0.0
            row[7] += 1
            q += 1
    deals = load(DEALS_NAME, out)
    cols = ["revenue_usd", "won_n", "lost_usd", "lost_n", "cycle_days_sum",
            "pipeline_start_usd", "pipeline_end_usd", "worked_opportunities_n"]  # fmt: skip
    got = {
        (r["account_id"], r["rep_id"], r["quarter"]): [r[c] for c in cols]
        for r in deals.to_dict("records")
    }
    assert got.keys() == want.keys()
    for key, values in want.items():
        assert got[key] == pytest.approx(values, abs=1e-6), key
    assert read_manifest(out)["outputs"][DEALS_NAME]["rows"] == len(want)


def test_ingest_reports_progress_on_stderr(lake, tmp_path, capsys):
    from workbench.cli import main

    folder, _, _, _ = lake
    assert main(["ingest", "--raw", str(folder), "--out", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err.splitlines()
    steps = [line.split("] ", 1)[1] for line in err]
    assert steps[0] == "read reps.parquet: 14 rows"
    assert "read opportunities/: " in "\n".join(steps)
    assert "checked 8 tables: 0 problem(s)" in steps
    assert steps[-1].startswith("wrote deals_account_quarter.parquet: ")
    seconds = [float(line[1:].split(" s]")[0]) for line in err]
    assert seconds == sorted(seconds)  # elapsed time, growing
    assert main(["ingest", "--raw", str(folder), "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
