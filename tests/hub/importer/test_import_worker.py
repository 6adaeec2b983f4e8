"""Reading and mapping in a worker process: the same rows, rejects, reports, audit and
errors as in process; a stopped import leaves no worker behind and resumes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.importer import stream
from hub.importer.pipeline import ImportOptions, get_import, resume_import, run_import
from hub.importer.readers import ImportFileError
from hub.runtime import Hub
from hub.store.models import AuditRecord, Customer, ImportReject

from .conftest import reading
from .test_imports import good_row, write_csv

COLUMNS = ("source", "external_id", "name", "company", "mobile", "email", "tier",
           "attributes", "content_hash", "mapping")


@pytest.fixture
def two_hubs(make_hub: Any, tmp_path: Path) -> Any:
    """Two hubs on two fresh stores (SQLite: the reading, not the store, is compared; the
    other importer tests run on PostgreSQL with a worker too)."""
    hubs = []
    for name in ("process", "worker"):
        (tmp_path / name).mkdir()
        runtime = make_hub(f"sqlite:///{tmp_path / name / 'hub.db'}")
        runtime.settings.imports_dir = tmp_path / name / "imports"
        hubs.append(runtime)
    yield hubs
    for runtime in hubs:
        runtime.close()


def bad_rows(count: int) -> list[list[str]]:
    rows = [good_row(i) for i in range(1, count + 1)]
    for i in range(6, count, 7):
        rows[i][3] = "12345"  # a bad mobile
    rows[10][0] = rows[3][0]  # a key met twice: the later row wins
    rows[12][8] = "=cmd|' /C calc'!A0"  # dangerous text in the report
    return rows


async def imported(hub: Hub, path: Path, monkeypatch: pytest.MonkeyPatch, *,
                   in_worker: bool) -> dict[str, Any]:
    """Import `path` one way and return everything it left."""
    made = []
    original = stream.mapped_batches

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(stream._in_worker(args[1], args[2]))
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        reading(patch, in_worker=in_worker)
        patch.setattr("hub.importer.pipeline.mapped_batches", spy)
        summary = await run_import(hub, path, mapping="import_customers",
                                   options=ImportOptions(batch_size=16), actor="test")
    assert made == [in_worker]
    with hub.sessions() as session:
        stored = sorted(tuple(getattr(c, name) for name in COLUMNS)
                        for c in session.scalars(sa.select(Customer)))
        rejects = [(r.row_number, r.values, r.errors)
                   for r in session.scalars(sa.select(ImportReject)
                                            .order_by(ImportReject.row_number))]
        audit = [(r.action, r.outcome, _named(r.detail)) for r in session.scalars(
            sa.select(AuditRecord).order_by(AuditRecord.seq))
            if r.action in ("import.batch", "import.finish")]
    counts = {name: getattr(summary, name) for name in
              ("status", "read", "created", "updated", "unchanged", "rejected", "batches",
               "checkpoint_row")}
    assert summary.report_csv and summary.report_xlsx
    return {"counts": counts, "stored": stored, "rejects": rejects, "audit": audit,
            "csv": Path(summary.report_csv).read_bytes(),
            "xlsx_rows": _sheet_rows(Path(summary.report_xlsx))}


def _named(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    """An audit row's detail with its report named by the file's name (each hub has its
    own folder)."""
    if detail and detail.get("report"):
        return {**detail, "report": Path(detail["report"]).name}
    return detail


def _sheet_rows(path: Path) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for sheet in workbook.worksheets
                for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


async def test_worker__leaves_exactly_what_the_process_leaves(
        two_hubs: list[Hub], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "客户.csv", bad_rows(100))

    here = await imported(two_hubs[0], path, monkeypatch, in_worker=False)
    there = await imported(two_hubs[1], path, monkeypatch, in_worker=True)

    assert here["counts"]["rejected"] > 10 and here["counts"]["batches"] == 7
    assert there == here


async def test_worker__a_row_past_a_limit_fails_as_in_process(
        two_hubs: list[Hub], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [good_row(i) for i in range(1, 41)]
    rows[39][1] = "长" * 40_000  # row 41: a cell over Excel's limit, met while reading
    path = write_csv(tmp_path / "long.csv", rows)
    outcomes = []
    for hub, in_worker in zip(two_hubs, (False, True), strict=True):
        reading(monkeypatch, in_worker=in_worker)
        with pytest.raises(ImportFileError) as caught:
            await run_import(hub, path, mapping="import_customers",
                             options=ImportOptions(batch_size=16), actor="test")
        summary = get_import(hub, 1)
        outcomes.append((str(caught.value), caught.value.row, summary.status, summary.error,
                         summary.checkpoint_row, summary.created))

    assert outcomes[1] == outcomes[0]
    assert outcomes[0][2:5] == ("failed", outcomes[0][3], 33)  # two batches written
    assert "row 41, column B: the cell has 40,000 characters" in outcomes[0][0]


async def test_worker__a_stopped_import_ends_its_worker_and_resumes(
        imports_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reading(monkeypatch, in_worker=True)
    path = write_csv(tmp_path / "a.csv", [good_row(i) for i in range(1, 101)])

    def stop(_summary: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_import(imports_hub, path, mapping="import_customers",
                         options=ImportOptions(batch_size=10), actor="test", progress=stop)

    assert multiprocessing.active_children() == []
    assert get_import(imports_hub, 1).checkpoint_row == 11
    summary = await resume_import(imports_hub, 1, actor="test")
    assert (summary.status, summary.read, summary.created) == ("succeeded", 100, 100)
