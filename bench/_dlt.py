"""The same pull through dlt's `rest_api` source into parquet files (dlt's fast path).

dlt is the peer a user would pick instead of the SDK; its default duckdb loader is
pathological on this data, so the comparison uses the filesystem destination with the parquet
loader format. Each run loads into a fresh directory under a temporary DLT_DATA_DIR, with
telemetry off.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LOADER", "DltRun", "crm_customers_config", "dlt_installed", "prepare", "pull_dlt"]

LOADER = "parquet/filesystem"


@dataclass(frozen=True, slots=True)
class DltRun:
    """One dlt pipeline run: rows loaded, and seconds in each step."""

    records: int
    extract: float
    normalize: float
    load: float

    @property
    def total(self) -> float:
        return self.extract + self.normalize + self.load


def dlt_installed() -> bool:
    return importlib.util.find_spec("dlt") is not None


def prepare(workdir: Path) -> None:
    """Point dlt's state and config at `workdir` and turn telemetry off; call before import."""
    os.environ["DLT_DATA_DIR"] = str(workdir / "data")
    os.environ["DLT_PROJECT_DIR"] = str(workdir / "project")
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"


def crm_customers_config(*, url: str, api_key: str, page_size: int,
                         **resource: Any) -> dict[str, Any]:
    """The `rest_api_source` config of the CRM sandbox's customers, as the hub pulls them
    (cursor paginator on `next_cursor`, records at `data`, the API key header); `resource`:
    more of the resource's settings (`primary_key`, `write_disposition`)."""
    return {
        "client": {
            "base_url": url,
            "auth": {"type": "api_key", "name": "X-API-Key", "api_key": api_key,
                     "location": "header"},
            "paginator": {"type": "cursor", "cursor_path": "next_cursor",
                          "cursor_param": "cursor"},
        },
        "resources": [{
            "name": "customers", **resource,
            "endpoint": {"path": "api/v1/customers", "params": {"limit": page_size},
                         "data_selector": "data"},
        }],
    }


def pull_dlt(*, url: str, api_key: str, page_size: int, workdir: Path, run: int) -> DltRun:
    """Pull every customer through `rest_api_source` and load it as parquet files."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(crm_customers_config(url=url, api_key=api_key,
                                                  page_size=page_size))
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_pull_{run}",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(workdir / f"out_{run}").as_uri()),
        dataset_name="crm",
    )
    started = time.perf_counter()
    pipeline.extract(source, loader_file_format="parquet")
    extracted = time.perf_counter()
    normalize_info = pipeline.normalize()
    normalized = time.perf_counter()
    pipeline.load()
    loaded = time.perf_counter()
    records = normalize_info.row_counts.get("customers", 0)
    return DltRun(records=records, extract=extracted - started,
                  normalize=normalized - extracted, load=loaded - normalized)
