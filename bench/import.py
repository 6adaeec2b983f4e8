"""Import a 1,000,000-row CSV and a 200,000-row XLSX into SQLite through a realistic mapping.

    .venv/bin/python bench/import.py              # about 1–2 minutes on a 2-core machine
    .venv/bin/python bench/import.py --help

The files have the 10 Chinese-headed columns of a customer list exported from an old CRM
(`mappings/import_customers.yaml`: key, name, company, mobile, email, tier through a strict
value map, province, city, an amount written `¥1,234.50`, a date written 2023年3月5日), with
one row in 1,000 deliberately bad. Each import runs in its own process — the real
`hub import` code path, store and error report included — and reports its peak RSS.

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


def child(path: Path, database: Path, imports: Path) -> None:
    """In a fresh process: import `path` and print rows, seconds and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    import asyncio

    from hub.core.settings import Settings
    from hub.importer.pipeline import ImportOptions, run_import
    from hub.runtime import Hub

    hub = Hub(Settings(database_url=f"sqlite:///{database}", mappings_dir=ROOT / "mappings",
                       config=ROOT / "configs/hub.yaml", imports_dir=imports))
    hub.upgrade_db()
    start = time.perf_counter()
    summary = asyncio.run(run_import(hub, path, mapping="import_customers",
                                     options=ImportOptions(batch_size=5000), actor="bench"))
    seconds = time.perf_counter() - start
    # the importing process or its reading worker, whichever peaked higher
    peak_mb = max(resource.getrusage(who).ru_maxrss
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"rows": summary.read, "created": summary.created,
                      "rejected": summary.rejected, "status": summary.status,
                      "seconds": seconds, "peak_rss_mb": peak_mb}))


def run_child(path: Path, folder: Path, name: str) -> dict[str, Any]:
    database = folder / f"{name}.db"
    database.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(database), str(folder / name)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
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
        for name, path in (("csv", csv_path), ("xlsx", xlsx_path)):
            figures = run_child(path, folder, name)
            rps = figures["rows"] / figures["seconds"]
            results[name] = figures | {"rps": rps}
            print(f"{name}: {figures['rows']:,} rows ({figures['created']:,} created, "
                  f"{figures['rejected']:,} rejected) in {figures['seconds']:.1f} s = "
                  f"{rps:,.0f} rows/s, peak RSS {figures['peak_rss_mb']:.0f} MB")

    csv_rps, xlsx_rps = results["csv"]["rps"], results["xlsx"]["rps"]
    peak = max(results["csv"]["peak_rss_mb"], results["xlsx"]["peak_rss_mb"])
    print(json.dumps({
        "bench": "import", "csv_rows": results["csv"]["rows"],
        "xlsx_rows": results["xlsx"]["rows"], "csv_rps": round(csv_rps),
        "xlsx_rps": round(xlsx_rps), "peak_rss_mb": round(peak),
        "csv_peak_rss_mb": round(results["csv"]["peak_rss_mb"]),
        "xlsx_peak_rss_mb": round(results["xlsx"]["peak_rss_mb"]),
        "targets": {"csv_rps": CSV_TARGET, "xlsx_rps": XLSX_TARGET, "peak_rss_mb": RSS_TARGET},
        "met": csv_rps >= CSV_TARGET and xlsx_rps >= XLSX_TARGET and peak < RSS_TARGET,
    }))


if __name__ == "__main__":
    main()
