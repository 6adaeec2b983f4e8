"""A 12-field mapping (coercions, a value map, a template) against a hand-written function.

    .venv/bin/python bench/mapping.py            # 1,000,000 records, best of 3 runs each
    .venv/bin/python bench/mapping.py --help

Both sides do the same work on the same Chinese records: strip text, normalise and validate
a mobile number (+86, spaces, dashes), validate and lower-case an email, parse an amount
written "¥12,345.50", an integer, a 是/否 flag through a value map, a tier through a value map
with a default, a local date-time in Asia/Shanghai, a date, and render a "name（city）" label.
The engine must match the hand-written output exactly (checked before timing).

Human-readable lines first; the last line is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.mapping import compile_mapping, parse_spec  # noqa: E402

TARGET = 0.7
SPEC = {
    "version": 1,
    "fields": {
        "external_id": {"path": "id", "required": True},
        "name": {"path": "name", "required": True},
        "company": {"path": "company"},
        "mobile": {"path": "contact.mobile", "type": "mobile"},
        "email": {"path": "contact.email", "type": "email"},
        "tier": {"path": "level", "map": {"普通": "standard", "银卡": "silver", "金卡": "gold",
                                          "钻石": "vip"}, "default": "standard"},
        "balance": {"path": "balance", "type": "decimal"},
        "orders": {"path": "orders", "type": "int"},
        "active": {"path": "status", "type": "bool", "map": {"正常": True, "停用": False}},
        "updated_at": {"path": "updated_at", "type": "datetime"},
        "birthday": {"path": "birthday", "type": "date"},
        "label": {"template": "{{ name }}（{{ city }}）"},
    },
}

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_NOISE = re.compile(r"[\s\-()]")
_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]{2,}")
_TIERS = {"普通": "standard", "银卡": "silver", "金卡": "gold", "钻石": "vip"}
_ACTIVE = {"正常": True, "停用": False}


def handwritten(record: dict[str, Any]) -> dict[str, Any]:
    """The same conversion as SPEC, written by hand the way a careful developer would."""
    external_id = (record.get("id") or "").strip()
    name = (record.get("name") or "").strip()
    if not external_id or not name:
        raise ValueError("id and name are required")
    contact = record.get("contact") or {}
    mobile = _NOISE.sub("", contact.get("mobile") or "")
    if mobile.startswith("+86"):
        mobile = mobile[3:]
    if not _MOBILE.fullmatch(mobile):
        raise ValueError("mobile")
    email = (contact.get("email") or "").strip().lower()
    if not _EMAIL.fullmatch(email):
        raise ValueError("email")
    balance = Decimal((record.get("balance") or "0").lstrip("¥").replace(",", ""))
    updated_at = datetime.fromisoformat(record["updated_at"])
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=_SHANGHAI)
    city = (record.get("city") or "").strip()
    return {
        "external_id": external_id,
        "name": name,
        "company": (record.get("company") or "").strip() or None,
        "mobile": mobile,
        "email": email,
        "tier": _TIERS.get((record.get("level") or "").strip(), "standard"),
        "balance": balance,
        "orders": int(record["orders"]),
        "active": _ACTIVE.get((record.get("status") or "").strip()),
        "updated_at": updated_at,
        "birthday": date.fromisoformat(record["birthday"]),
        "label": f"{record.get('name') or ''}（{city}）",
    }


_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = ["芳", "伟", "娜", "秀英", "敏", "静", "磊", "洋", "艳", "勇"]
_CITIES = ["杭州市", "上海市", "北京市", "深圳市", "成都市", "武汉市"]
_LEVELS = ["普通", "银卡", "金卡", "钻石", "普通"]


def records(count: int) -> list[dict[str, Any]]:
    made = []
    for i in range(count):
        made.append({
            "id": f"C{i:07d}",
            "name": _SURNAMES[i % 10] + _GIVEN[(i // 10) % 10],
            "company": "杭州某某科技有限公司" if i % 3 else "",
            "contact": {"mobile": f"+86 13{i % 10}-{i % 10000:04d}-{(i * 7) % 10000:04d}",
                        "email": f"User{i}@Example.cn"},
            "level": _LEVELS[i % 5],
            "balance": f"¥{(i * 37) % 100000:,}.50",
            "orders": str(i % 50),
            "status": "正常" if i % 4 else "停用",
            "updated_at": f"2024-05-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            "birthday": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
            "city": _CITIES[i % 6],
        })
    return made


def _time(function: Callable[[dict[str, Any]], Any], data: list[dict[str, Any]],
          total: int) -> float:
    rounds, rest = divmod(total, len(data))
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            for record in data:
                function(record)
        for record in data[:rest]:
            function(record)
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=100_000,
                        help="distinct records, cycled to reach --records (memory)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    mapping = compile_mapping(parse_spec(SPEC), name="bench_customer")
    data = records(min(args.distinct, args.records))
    for record in data[:1000]:
        expected, got = handwritten(record), mapping(record)
        if expected != got:
            raise SystemExit(f"engine and hand-written disagree on {record['id']}:\n"
                             f"{expected}\n{got}")

    engine_best = hand_best = float("inf")
    for attempt in range(1, args.repeats + 1):
        hand = _time(handwritten, data, args.records)
        engine = _time(mapping, data, args.records)  # type: ignore[arg-type]
        hand_best, engine_best = min(hand_best, hand), min(engine_best, engine)
        print(f"run {attempt}: engine {args.records / engine:,.0f} records/s, "
              f"hand-written {args.records / hand:,.0f} records/s")
    rps, handwritten_rps = args.records / engine_best, args.records / hand_best
    ratio = rps / handwritten_rps
    print(f"best: engine {rps:,.0f} records/s, hand-written {handwritten_rps:,.0f} records/s, "
          f"ratio {ratio:.2f} (target ≥ {TARGET})")
    print(json.dumps({"bench": "mapping", "records": args.records, "fields": 12,
                      "rps": round(rps), "handwritten_rps": round(handwritten_rps),
                      "ratio": round(ratio, 3), "target": TARGET, "met": ratio >= TARGET}))


if __name__ == "__main__":
    main()
