"""Where raw data comes from, and the engine that reduces it.

Three kinds of source, one set of checks and expressions (:mod:`workbench.checks`,
:mod:`workbench.expressions`):

* a **folder** (``--raw DIR``): per contract file a CSV export (``accounts.csv``, read as text
  with its line numbers), a Parquet file (``accounts.parquet``) or a Parquet folder in a lake
  layout (``accounts/`` holding any number of ``*.parquet`` files, partition folders
  included);
* a **database or warehouse** (``--source URL``): any Ibis backend URL
  (``postgres://user@host:5432/crm``, ``snowflake://…``, ``bigquery://…``,
  ``duckdb:///crm.duckdb``) with a table-name mapping (``--tables accounts=crm.accounts,…``);
  the tables keep the contract's column names (a view in the warehouse renames);
* a **profile** (``--source profile:NAME``): a named source in a profile file
  (``$WORKBENCH_PROFILES``, else ``~/.config/workbench/sources.yaml``) holding ``url``,
  ``tables`` and ``password_env``.

The **engine** of a folder is embedded DuckDB (default) or Spark in local mode
(``--engine spark``: Parquet read by Spark, reduced by Spark); a database source is its own
engine. **Credentials** never leave this module: a password comes from the URL, the variable
``WORKBENCH_SOURCE_PASSWORD`` or the profile's ``password_env`` variable, and every URL that is
shown, recorded or raised is :func:`redact` -ed first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import ibis
import ibis.expr.types as ir

from .checks import IngestError, RawTable, _expected_header, read_mapped, read_raw
from .config import shown_path
from .mapping import Mapping
from .schema import CONTRACT, FileSpec, Problem

ENGINES = ("duckdb", "spark")
PASSWORD_ENV = "WORKBENCH_SOURCE_PASSWORD"
PROFILES_ENV = "WORKBENCH_PROFILES"
SECRET_PARAMS = ("password", "pass", "pwd", "secret", "token", "key", "private_key")
"""URL query parameters that carry a secret: dropped from every shown URL."""


class SourceError(Exception):
    """A source that cannot be opened (bad URL, profile, engine, connection): one line, no
    credentials in it."""


def redact(url: str) -> str:
    """A URL fit to show and record: no password, no secret query parameters.

    >>> redact("postgres://ana:s3cret@db.example.com:5432/crm?sslmode=require&password=x")
    'postgres://ana@db.example.com:5432/crm?sslmode=require'
    >>> redact("duckdb:///data/crm.duckdb?token=abc")
    'duckdb:///data/crm.duckdb'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in SECRET_PARAMS])
    # by hand: urlunsplit drops the empty host of duckdb:///file.duckdb
    return (
        (f"{parts.scheme}://" if "://" in url else f"{parts.scheme}:")
        + netloc
        + parts.path
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in SECRET_PARAMS and v]
    return found


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***").replace(quote(s, safe=""), "***")
    return text


def table_key(spec: FileSpec, columns: list[str]) -> tuple[str, ...]:
    """How a table's problems name a row: its unique column, else every contract column it
    has (a table has no line numbers).

    >>> table_key(CONTRACT["opportunities"], ["opportunity_id", "account_id"])
    ('opportunity_id',)
    >>> table_key(CONTRACT["quotas"], ["quarter", "rep_id", "quota_usd"])
    ('quarter', 'rep_id', 'quota_usd')
    """
    unique = [c.name for c in spec.columns if c.unique and c.name in columns]
    return tuple(unique[:1]) or tuple(c.name for c in spec.columns if c.name in columns)


@dataclasses.dataclass
class SourceTable:
    """A contract table held by an engine (Parquet, a warehouse table): what the checks and
    the typed output need of it (:class:`workbench.checks.CheckInput`)."""

    spec: FileSpec
    expr: ir.Table | None
    display: str
    locator: tuple[str, ...]
    entry: dict[str, Any]
    numeric_extras: list[str] = dataclasses.field(default_factory=list)
    failures: dict[str, list[tuple[int, str]]] = dataclasses.field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.entry["rows"])

    @property
    def input_name(self) -> str:
        return self.display

    def label(self, column: str | None) -> str | None:
        return column

    def annotate(self, column: str | None, found: list) -> list:
        return found

    def manifest_entry(self) -> dict:
        return dict(self.entry)


def _table_input(
    name: str, expr: ir.Table, display: str, entry: dict, problems: list[Problem]
) -> SourceTable | None:
    """A contract table from an engine table; missing required columns are problems."""
    spec = CONTRACT[name]
    columns = list(expr.columns)
    missing = [c.name for c in spec.required_columns if c.name not in columns]
    for col in missing:
        problems.append(Problem(display, None, col, "required column is missing from the table"))
    if missing:
        return None
    spec = spec.for_header(columns)
    rows = int(expr.count().to_pyarrow().as_py())
    if rows == 0 and spec.required:
        problems.append(Problem(display, None, None, "table has no rows"))
    return SourceTable(
        spec, expr, display, table_key(spec, columns), entry | {"rows": rows, "contract": name}
    )


# ---------------------------------------------------------------------------------------------
# Engines


def spark_session():
    """A local Spark session (``local[2]``, no UI, two shuffle partitions, its warehouse in a
    temporary folder), or the one already running. ``SPARK_MASTER`` overrides the master."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency of the extra
        raise SourceError(
            "the spark engine needs pyspark: pip install 'workbench[warehouse]'"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if "JAVA_HOME" not in os.environ:  # Spark 4.0 runs on Java 17 (a newer default java fails)
        java17 = sorted(Path("/usr/lib/jvm").glob("java-17-openjdk-*"))
        if java17:
            os.environ["JAVA_HOME"] = str(java17[0])
    return (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName("workbench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="wb-spark-"))
        .getOrCreate()
    )


DUCKDB_MEMORY_ENV = "WORKBENCH_DUCKDB_MEMORY"
DUCKDB_MEMORY_GB = 6
"""Embedded DuckDB's memory limit: 6 GB, or half the machine's memory when that is less
(``$WORKBENCH_DUCKDB_MEMORY``, e.g. ``12GB``, overrides it). Beyond it, sorts and aggregations
spill to a temporary folder (out of core)."""


def duckdb_memory_limit() -> str:
    """The memory limit embedded DuckDB runs with (see :data:`DUCKDB_MEMORY_GB`)."""
    if os.environ.get(DUCKDB_MEMORY_ENV):
        return os.environ[DUCKDB_MEMORY_ENV]
    try:
        physical_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # not a POSIX system: DuckDB's own default
        return f"{DUCKDB_MEMORY_GB}GB"
    return f"{max(min(DUCKDB_MEMORY_GB, physical_gb / 2), 0.5):.1f}GB"


def connect(engine: str, scratch: str | None = None):
    """An Ibis connection to ``engine``: ``duckdb`` in memory, limited to
    :func:`duckdb_memory_limit` and spilling to ``scratch``; ``spark`` a local session."""
    if engine == "duckdb":
        config = {"memory_limit": duckdb_memory_limit()}
        if scratch is not None:
            config["temp_directory"] = scratch
        # row order comes from ORDER BY wherever it matters, so scans need not keep it
        return ibis.duckdb.connect(preserve_insertion_order=False, **config)
    if engine == "spark":
        try:
            return ibis.pyspark.connect(spark_session())
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(
                f"could not start Spark ({exc.__class__.__name__}: {str(exc)[:300]}); Spark "
                "needs Java 17 (Debian: apt-get install openjdk-17-jre-headless; set JAVA_HOME)"
            ) from exc
    raise SourceError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


# ---------------------------------------------------------------------------------------------
# Sources


class Source:
    """A place contract tables are read from. ``open`` connects and returns the tables and
    the problems found in their shape; ``describe`` is what the manifest records."""

    kind = ""
    engine = ""
    con: Any = None
    scratch: str | None = None  # DuckDB's spill folder, removed on close

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def open(self, progress: Callable[[str], None]) -> tuple[dict, list[Problem]]:
        raise NotImplementedError

    def close(self) -> None:
        if self.con is not None and self.engine != "spark":  # the session outlives a source
            self.con.disconnect()
        self.con = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.parquet") if p.is_file())


def _files_entry(files: list[Path], root: Path) -> dict[str, Any]:
    """A Parquet table's version: one hash over its files' names and contents."""
    h = hashlib.sha256()
    size = 0
    for f in files:
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        size += f.stat().st_size
    return {"sha256": h.hexdigest(), "bytes": size, "files": len(files), "format": "parquet"}


class FolderSource(Source):
    """A folder of CSV exports, Parquet files or Parquet folders (one per contract file)."""

    kind = "folder"

    def __init__(self, raw_dir: Path, mapping: Mapping | None = None, engine: str = "duckdb"):
        self.raw_dir, self.mapping, self.engine = Path(raw_dir), mapping, engine
        if engine not in ENGINES:
            raise SourceError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": shown_path(self.raw_dir), "engine": self.engine}

    def open(self, progress: Callable[[str], None]) -> tuple[dict, list[Problem]]:
        raw_dir, mapping = self.raw_dir, self.mapping
        problems: list[Problem] = []
        if not raw_dir.is_dir():
            raise IngestError([Problem(str(raw_dir), None, None, "raw data folder does not exist")])
        if self.engine == "duckdb":
            self.scratch = tempfile.mkdtemp(prefix="wb-duckdb-")
        self.con = connect(self.engine, self.scratch)
        tables: dict[str, Any] = {}
        for name, spec in CONTRACT.items():
            fmap = mapping.files.get(name) if mapping is not None else None
            csv_path = raw_dir / (fmap.file if fmap else spec.filename)
            lake = [p for p in (raw_dir / f"{name}.parquet", raw_dir / name) if p.exists()]
            if csv_path.is_file() and lake:
                problems.append(
                    Problem(
                        spec.filename,
                        None,
                        None,
                        f"both {csv_path.name} and {lake[0].name} are in {raw_dir}: keep one",
                    )
                )
                continue
            table: SourceTable | RawTable | None
            if lake:
                table = self._parquet(name, lake[0], problems)
            elif csv_path.is_file():
                raw = (
                    read_mapped(spec, fmap, raw_dir, problems)
                    if fmap
                    else read_raw(spec, csv_path, problems)
                )
                table = raw
                if raw is not None:
                    raw.expr = self._register(f"raw_{name}", raw.table)
            else:
                if spec.required:
                    problems.append(_missing(spec, raw_dir, fmap))
                continue
            if table is not None:
                tables[name] = table
                progress(f"read {table.display}: {table.rows:,} rows")
        return tables, problems

    def _register(self, name: str, table):
        """An Arrow table as an engine table (DuckDB reads it in place, without a copy)."""
        if self.engine == "duckdb":
            self.con.con.register(name, table)
            return self.con.table(name)
        spark_session().createDataFrame(table).createOrReplaceTempView(name)
        return self.con.table(name)

    def _parquet(self, name: str, path: Path, problems: list[Problem]) -> SourceTable | None:
        files = _parquet_files(path)
        display = path.name + ("/" if path.is_dir() else "")
        if not files:
            problems.append(Problem(display, None, None, "folder holds no .parquet files"))
            return None
        try:
            if self.engine == "spark":  # the files, with partition columns from their paths
                base = path if path.is_dir() else path.parent
                frame = spark_session().read.option("basePath", str(base))
                frame = frame.parquet(*(str(f) for f in files))
                frame.createOrReplaceTempView(f"raw_{name}")
                expr = self.con.table(f"raw_{name}")
            else:
                expr = self.con.read_parquet([str(f) for f in files])
        except Exception as exc:
            problems.append(Problem(display, None, None, f"not readable as Parquet ({exc})"))
            return None
        return _table_input(name, expr, display, _files_entry(files, self.raw_dir), problems)


def _missing(spec: FileSpec, raw_dir: Path, fmap) -> Problem:
    wanted = (
        [n for n, _ in _expected_header(spec, fmap)]
        if fmap
        else [c.name for c in spec.required_columns]
    )
    via = f"; the mapping reads {spec.filename} from it" if fmap else ""
    return Problem(
        fmap.file if fmap else spec.filename,
        None,
        None,
        (
            f"required file is missing from {raw_dir}{via} (expected columns: "
            + ", ".join(dict.fromkeys(wanted))
            + "; or a Parquet file or folder named after the contract file)"
        ),
    )


def _names(columns) -> str:
    return ", ".join(c.name for c in columns)


def parse_tables(text: str | None) -> dict[str, str]:
    """``accounts=crm.accounts,opportunities=crm.deals`` as a dict (contract name → table).

    >>> parse_tables("accounts=crm.accounts, opportunities = crm.deals")
    {'accounts': 'crm.accounts', 'opportunities': 'crm.deals'}
    """
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, table = part.partition("=")
        name, table = name.strip(), table.strip()
        if not sep or not table or name not in CONTRACT:
            raise SourceError(
                f"bad table mapping {part.strip()!r}: expected NAME=TABLE with NAME one of "
                + ", ".join(CONTRACT)
            )
        out[name] = table
    return out


class DatabaseSource(Source):
    """Contract tables in a database or warehouse, reached by an Ibis URL."""

    kind = "database"

    def __init__(self, url: str, tables: dict[str, str] | None = None, password: str | None = None):
        self.url, self.tables, self.password = url, dict(tables or {}), password
        unknown = sorted(set(self.tables) - set(CONTRACT))
        if unknown:
            raise SourceError(f"unknown contract tables in the mapping: {', '.join(unknown)}")
        self.engine = urlsplit(url).scheme.split("+", 1)[0] or "?"
        self._found: tuple[str, ...] = ()  # the contract tables read, once open
        self._read_utc = ""

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "location": redact(self.url),
            "engine": self.engine,
            "tables": {n: self.tables.get(n, n) for n in CONTRACT if n in self._found},
            "read_utc": self._read_utc,
        }

    def _connect_url(self) -> str:
        if not self.password or urlsplit(self.url).password:
            return self.url
        parts = urlsplit(self.url)
        user, _, host = parts.netloc.rpartition("@")
        if not user:
            raise SourceError(f"{redact(self.url)}: a password is given but the URL has no user")
        netloc = f"{user}:{quote(self.password, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))

    def open(self, progress: Callable[[str], None]) -> tuple[dict, list[Problem]]:
        url = self._connect_url()
        secrets = _secrets(url) + ([self.password] if self.password else [])
        try:
            self.con = ibis.connect(url)
            present = set(self._list_tables())
        except Exception as exc:
            raise SourceError(
                f"could not connect to {redact(self.url)}: "
                f"{_scrub(f'{exc.__class__.__name__}: {exc}', secrets)[:400]}"
            ) from None
        self._read_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        problems: list[Problem] = []
        tables: dict[str, Any] = {}
        for name, spec in CONTRACT.items():
            ref = self.tables.get(name, name)
            if ref not in present:
                if spec.required or name in self.tables:
                    problems.append(
                        Problem(
                            ref,
                            None,
                            None,
                            f"required table for {name} not found in {redact(self.url)} "
                            f"(expected columns: {_names(spec.required_columns)})",
                        )
                    )
                continue
            schema, _, table_name = ref.rpartition(".")
            expr = self.con.table(table_name, database=schema or None)
            table = _table_input(name, expr, ref, {"table": ref}, problems)
            if table is not None:
                tables[name] = table
                progress(f"read {ref}: {table.rows:,} rows")
        self._found = tuple(tables)
        return tables, problems

    def _list_tables(self) -> list[str]:
        names = list(self.con.list_tables())
        for ref in self.tables.values():
            schema, _, table = ref.rpartition(".")
            if schema and table in self.con.list_tables(database=schema):
                names.append(ref)
        return names


def read_profile(name: str, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A named source from the profile file: ``url``, optional ``tables`` (a mapping) and
    ``password_env`` (the variable holding the password; never the password itself)."""
    import yaml

    path = Path(
        path or os.environ.get(PROFILES_ENV) or Path.home() / ".config/workbench/sources.yaml"
    )
    if not path.is_file():
        raise SourceError(f"profile file {path} not found (set {PROFILES_ENV} to its path)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    entry = doc.get(name) if isinstance(doc, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        known = ", ".join(sorted(doc)) if isinstance(doc, dict) else "none"
        raise SourceError(f"{path}: no profile {name!r} with a url (profiles: {known})")
    if "password" in entry:
        raise SourceError(
            f"{path}: profile {name!r} holds a password; name the variable that holds it "
            "(password_env) instead"
        )
    return entry


def open_source(
    raw_dir: str | os.PathLike[str] | None = None,
    source: str | None = None,
    *,
    tables: dict[str, str] | str | None = None,
    mapping: Mapping | None = None,
    engine: str = "duckdb",
) -> Source:
    """The source an ingest reads: ``source`` (a URL or ``profile:NAME``) when given, else
    the folder ``raw_dir``."""
    if source is None:
        return FolderSource(Path(raw_dir or "data/raw"), mapping, engine)
    if mapping is not None:
        raise SourceError(
            "--mapping reads CSV exports; a database source keeps the contract's column names "
            "(rename in a view) and maps table names with --tables"
        )
    table_map = parse_tables(tables) if isinstance(tables, str) else dict(tables or {})
    password = os.environ.get(PASSWORD_ENV)
    url = source
    if source.startswith("profile:"):
        entry = read_profile(source.removeprefix("profile:"))
        url = entry["url"]
        table_map = {**(entry.get("tables") or {}), **table_map}
        if entry.get("password_env"):
            password = os.environ.get(entry["password_env"]) or password
    if "://" not in url:
        raise SourceError(
            f"--source {redact(url)!r} is not a URL (like postgres://user@host:5432/db) "
            "or profile:NAME"
        )
    return DatabaseSource(url, table_map, password)
