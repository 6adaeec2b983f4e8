"""Import a 1,000,000-row CSV and a 200,000-row XLSX into SQLite through a realistic mapping.

    .venv/bin/python bench/import.py              # about 2 minutes on a 2-core machine
    .venv/bin/python bench/import.py --postgres   # the same into PostgreSQL (COPY)
    .venv/bin/python bench/import.py --help

The files have the 10 Chinese-headed columns of a customer list exported from an old CRM
(`mappings/import_customers.yaml`: key, name, company, mobile, email, tier through a strict
value map, province, city, an amount written `¥1,234.50`, a date written 2023年3月5日), with
one row in 1,000 deliberately bad. Each import runs in its own process — the real
`hub import` code path, store and error report included — and reports its peak RSS (its
reading worker's included). The CSV is then loaded the way a data engineer would script it
— pandas `read_csv`, the same normalisations vectorised, `to_sql` into the same kind of
store — for `pandas_rps` and our `vs_pandas` ratio (pandas is in the dev extra).

Human-readable lines first; the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CSV_TARGET, XLSX_TARGET, RSS_TARGET = 80_000, 40_000, 300
POSTGRES_URL = os.environ.get("HUB_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市", "账户余额",
           "注册日期"]
_LEVELS = ["普通", "银卡", "金卡", "钻石"]
_CITIES = [("浙江省", "杭州市"), ("广东省", "深圳市"), ("四川省", "成都市"), ("湖北省", "武汉市")]


def row(i: int) -> list[Any]:
    province, city = _CITIES[i % 4]
    mobile = f"+86 13{i % 10}-{i % 10000:04d}-{(i * 7) % 10000:04d}"
    if i % 1000 == 999:
        mobile = "12345"  # one bad row in 1,000
    return [f"C{i:08d}", f"客户{i}", "杭州某某科技有限公司", mobile, f"user{i}@example.cn",
            _LEVELS[i % 4], province, city, f"¥{i % 100000:,}.50",
            f"20{10 + i % 14}年{1 + i % 12}月{1 + i % 28}日"]


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(1, rows + 1):
            writer.writerow(row(i))


def make_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("客户")
    sheet.append(HEADERS)
    for i in range(1, rows + 1):
        sheet.append(row(i))
    workbook.save(path)


def child(path: Path, database: str, imports: Path) -> None:
    """In a fresh process: import `path` and print rows, seconds and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    import asyncio

    from hub.core.settings import Settings
    from hub.importer.pipeline import ImportOptions, run_import
    from hub.runtime import Hub

    hub = Hub(Settings(database_url=database, mappings_dir=ROOT / "mappings",
                       config=ROOT / "configs/hub.yaml", imports_dir=imports))
    hub.upgrade_db()
    start = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    summary = asyncio.run(run_import(hub, path, mapping="import_customers",
                                     options=ImportOptions(batch_size=5000), actor="bench"))
    seconds = time.perf_counter() - start
    own, worker = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    hub.close()
    per_row = 1e6 / max(summary.read, 1)
    # peak RSS: the importing process or its reading worker, whichever peaked higher (the
    # worker is forked: the pages they share count in both)
    print(json.dumps({"rows": summary.read, "created": summary.created,
                      "rejected": summary.rejected, "status": summary.status,
                      "seconds": seconds,
                      "peak_rss_mb": max(own.ru_maxrss, worker.ru_maxrss) / 1024,
                      "main_rss_mb": own.ru_maxrss / 1024, "worker_rss_mb": worker.ru_maxrss / 1024,
                      "main_cpu_us_row": (own.ru_utime + own.ru_stime - cpu_start) * per_row,
                      "worker_cpu_us_row": (worker.ru_utime + worker.ru_stime) * per_row}))


_TIERS = {"普通": "standard", "银卡": "silver", "金卡": "gold", "钻石": "vip", "VIP": "vip"}


def pandas_child(path: Path, database: str) -> None:
    """In a fresh process: the data engineer's script — read_csv, the mapping's
    normalisations vectorised, to_sql — and print rows, seconds and peak RSS as JSON."""
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    start = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    frame.columns = ["external_id", "name", "company", "mobile", "email", "tier", "province",
                     "city", "balance", "registered_on"]
    frame["external_id"] = frame["external_id"].str.strip().str.upper()
    digits = frame["mobile"].str.replace(r"\D", "", regex=True).str.replace(
        r"^(?:0086|86)(?=1\d{10}$)", "", regex=True)
    frame["mobile"] = digits.where(digits.str.fullmatch(r"1[3-9]\d{9}"))
    frame["email"] = frame["email"].str.strip().str.lower()
    frame["tier"] = frame["tier"].str.strip().map(_TIERS).fillna("standard")
    amount = frame["balance"].str.replace(r"[¥￥,\s]", "", regex=True)
    wan = amount.str.endswith("万")
    number = pd.to_numeric(amount.str.removesuffix("万"), errors="coerce")
    frame["balance"] = number.where(~wan, number * 10_000)
    frame["registered_on"] = pd.to_datetime(frame["registered_on"], format="%Y年%m月%d日",
                                            errors="coerce").dt.date
    good = frame[frame["mobile"].notna() & (frame["external_id"] != "")]
    with engine.begin() as connection:
        good.to_sql("pandas_customers", connection, if_exists="replace", index=False,
                    chunksize=5000)
    seconds = time.perf_counter() - start
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": len(frame), "created": len(good),
                      "rejected": len(frame) - len(good), "seconds": seconds,
                      "peak_rss_mb": peak_mb}))


def run_child(path: Path, folder: Path, name: str, database: str | None,
              kind: str = "--child") -> dict[str, Any]:
    if database is None:
        store = folder / f"{name}.db"
        store.unlink(missing_ok=True)
        database = f"sqlite:///{store}"
    extra = [str(folder / name)] if kind == "--child" else []
    result = subprocess.run(
        [sys.executable, __file__, kind, str(path), database, *extra],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def postgres_schema(base: str) -> tuple[str, Any]:
    """A fresh schema in the PostgreSQL database `base`: its URL and a function dropping it."""
    import uuid

    import sqlalchemy as sa

    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES_URL, default=None,
                        metavar="URL", help="import into PostgreSQL (a schema of its own in "
                        f"this database; default {POSTGRES_URL})")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--pandas-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], Path(args.child[2]))
        return
    if args.pandas_child:
        pandas_child(Path(args.pandas_child[0]), args.pandas_child[1])
        return

    with tempfile.TemporaryDirectory() as temporary:
        folder = args.dir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, xlsx_path = folder / "customers.csv", folder / "customers.xlsx"
        if not csv_path.exists():
            print(f"writing {args.csv_rows:,} CSV rows …", flush=True)
            make_csv(csv_path, args.csv_rows)
        if not xlsx_path.exists():
            print(f"writing {args.xlsx_rows:,} XLSX rows …", flush=True)
            make_xlsx(xlsx_path, args.xlsx_rows)

        results = {}
        for name, path, kind in (("csv", csv_path, "--child"), ("xlsx", xlsx_path, "--child"),
                                 ("pandas", csv_path, "--pandas-child")):
            url, drop = postgres_schema(args.postgres) if args.postgres else (None, None)
            try:
                figures = run_child(path, folder, name, url, kind)
            finally:
                if drop is not None:
                    drop()
            rps = figures["rows"] / figures["seconds"]
            results[name] = figures | {"rps": rps}
            cpu = (f", CPU µs/row: importer {figures['main_cpu_us_row']:.1f}, reading worker "
                   f"{figures['worker_cpu_us_row']:.1f}" if "main_cpu_us_row" in figures else "")
            print(f"{name}: {figures['rows']:,} rows ({figures['created']:,} created, "
                  f"{figures['rejected']:,} rejected) in {figures['seconds']:.1f} s = "
                  f"{rps:,.0f} rows/s, peak RSS {figures['peak_rss_mb']:.0f} MB{cpu}",
                  flush=True)

    csv_rps, xlsx_rps = results["csv"]["rps"], results["xlsx"]["rps"]
    pandas_rps = results["pandas"]["rps"]
    peak = max(results["csv"]["peak_rss_mb"], results["xlsx"]["peak_rss_mb"])
    print(json.dumps({
        "bench": "import", "store": "postgresql" if args.postgres else "sqlite",
        "csv_rows": results["csv"]["rows"],
        "xlsx_rows": results["xlsx"]["rows"], "csv_rps": round(csv_rps),
        "xlsx_rps": round(xlsx_rps), "peak_rss_mb": round(peak),
        "csv_peak_rss_mb": round(results["csv"]["peak_rss_mb"]),
        "xlsx_peak_rss_mb": round(results["xlsx"]["peak_rss_mb"]),
        "cpu_us_per_row": {name: {"importer": round(results[name]["main_cpu_us_row"], 1),
                                  "worker": round(results[name]["worker_cpu_us_row"], 1)}
                           for name in ("csv", "xlsx")},
        "pandas_rps": round(pandas_rps), "vs_pandas": round(csv_rps / pandas_rps, 2),
        "targets": {"csv_rps": CSV_TARGET, "xlsx_rps": XLSX_TARGET, "peak_rss_mb": RSS_TARGET,
                    "vs_pandas": 1.0},
        "met": csv_rps >= CSV_TARGET and xlsx_rps >= XLSX_TARGET and peak < RSS_TARGET
        and csv_rps >= pandas_rps,
    }))


if __name__ == "__main__":
    main()
