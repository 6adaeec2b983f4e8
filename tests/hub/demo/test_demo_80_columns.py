"""`COLUMNS=80 hub demo` reads cleanly: no line wider than the terminal, no name or heading
split or cut short, one tier name per tier, KB snippets one line each, and what the text says
about the scheduler's tick matches the jobs table under it (issue 22)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from hub.demo import run_demo

ROOT = Path(__file__).resolve().parents[3]
WHOLE = ["unchanged", "rejected", "retries", "refund.create", "parts.consume",
         "article.publish", "vip_ticket_to_ops_group", "refund_to_finance",
         "unresolved_after_2h", "crm_customers", "ticket_enrichment", "yonyou_customers",
         "erp_refunds", "number/error", "cron 0 * * * *"]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    buffer = io.StringIO()
    run_demo(Console(file=buffer, width=80, color_system=None), customers=150,
             project_root=ROOT)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


def _section(lines: list[str], number: int) -> list[str]:
    start = next(i for i, line in enumerate(lines) if f" {number} · " in line)
    end = next((i for i, line in enumerate(lines[start + 1:], start + 1)
                if re.search(r"─ \d+ · ", line)), len(lines))
    return lines[start + 1:end]


def test_demo_at_80_columns__no_line_is_wider(lines: list[str]) -> None:
    assert max(cell_len(line) for line in lines) <= 80


def test_demo_at_80_columns__names_and_headings_are_whole(lines: list[str]) -> None:
    text = "\n".join(lines)
    split = [name for name in WHOLE
             if name not in text and name.replace(" ", "") not in text.replace(" ", "")]
    assert not split, f"never shown whole: {split}"
    for name in WHOLE:
        head = name[: max(3, len(name) // 2)]
        broken = [line for line in lines if re.search(re.escape(head) + r"\S*…", line)
                  or line.endswith(head)]
        assert not broken, (name, broken)


def test_demo_at_80_columns__kb_snippets_are_one_line_each(lines: list[str]) -> None:
    kb = _section(lines, 4)
    first = next(i for i, line in enumerate(kb) if "?expand=kb" in line)
    suggested = kb[first + 1:]
    scores = [i for i, line in enumerate(suggested) if re.match(r"  \d\.\d\d  ", line)]
    assert scores, kb
    for i in scores:  # title line, then the snippet on exactly one indented line
        assert suggested[i + 1].startswith("        ") and not suggested[i + 1][8].isspace()
        assert i + 2 == len(suggested) or re.match(r"  \d\.\d\d  ", suggested[i + 2])


def test_demo_at_80_columns__one_name_per_tier(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert re.search(r"Tier\s+vip\b", text)  # the panel says what the table says
    assert re.search(r"吴建华|\S+\s+vip\s+enriched", text)
    assert "VIP" not in text.replace("VIP 工单", "")  # only the rule's own card title


def test_demo_at_80_columns__the_tick_text_matches_the_jobs_table(lines: list[str]) -> None:
    section = _section(lines, 10)
    said = " ".join(" ".join(section).split())
    ran = re.findall(r"(\w+) \(run #(\d+)\)", said.split(" ran", 1)[0])
    idle = said.split(" ran;", 1)[1].split("had nothing owed")[0] if "nothing owed" in said \
        else ""
    rows = {line.split()[0]: line for line in section if re.match(r"  [a-z_]+ ", line)}
    for job, run_id in ran:
        assert f"#{run_id} " in rows[job] + " ", (job, rows[job])
    for job in re.findall(r"[a-z_]+", idle.replace(" and ", " ")):
        row_and_next = section[section.index(rows[job]):][:2]
        assert "never run" in rows[job] or not any(
            f"#{run_id} " in " ".join(row_and_next) for _, run_id in ran), job
    assert "ticket_enrichment" in idle and "never run" in rows["ticket_enrichment"]
