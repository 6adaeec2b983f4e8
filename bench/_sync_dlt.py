"""dlt's `rest_api` source into SQLite, for bench/sync.py: run as a process of its own, by a
Python that has dlt with its sqlalchemy destination (`pip install 'dlt[sqlalchemy]'`).

    python bench/_sync_dlt.py URL API_KEY PAGE_SIZE DB_FILE WORKDIR

The same pull as the hub's (cursor paginator on `next_cursor`, records at `data`, the API key
header) run as dlt runs it: extract, normalize (flattening `contact`/`address`, a child table
for `tags`) and load into the SQLite file through dlt's `sqlalchemy` destination. Prints one
JSON line: records loaded and seconds in each step.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _dlt import crm_customers_config, prepare  # bench/ is this script's folder


def main() -> None:
    url, api_key, page_size, db, workdir = sys.argv[1:6]
    work = Path(workdir)
    prepare(work)
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(crm_customers_config(
        url=url, api_key=api_key, page_size=int(page_size), primary_key="id",
        write_disposition="merge"))
    pipeline = dlt.pipeline(
        pipeline_name="bench_sync", pipelines_dir=str(work / "pipelines"),
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{db}"),
        dataset_name="crm",
    )
    started = time.perf_counter()
    pipeline.extract(source)
    extracted = time.perf_counter()
    info = pipeline.normalize()
    normalized = time.perf_counter()
    pipeline.load()
    loaded = time.perf_counter()
    print(json.dumps({"records": info.row_counts.get("customers", 0),
                      "extract": extracted - started, "normalize": normalized - extracted,
                      "load": loaded - normalized}))


if __name__ == "__main__":
    main()
