"""Deterministic demo data for the sandbox: customers, materials, stocks, orders, deliveries.

Records use the sandbox's storage shape: upper-case field keys, base-data references as
`{"ID", "FNUMBER", "FNAME"}`, entry lines in a list under the entity key.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

__all__ = ["seed"]

_COMPANIES = ["华东精密", "申城电器", "北辰科技", "南湖制冷", "粤海机电", "江南水务", "天府动力",
              "齐鲁仪表", "闽江光电", "湘江环保"]
_PARTS = ["滤芯", "压缩机", "控制板", "传感器", "电机", "皮带", "密封圈", "风扇", "阀门", "显示屏"]
_EPOCH = datetime(2026, 1, 5, 9, 0, 0)


def _ref(kind_id: int, number: str, name: str) -> dict[str, Any]:
    return {"ID": kind_id, "FNUMBER": number, "FNAME": name}


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def seed(
    *, customers: int = 50, materials: int = 100, seed: int = 7
) -> dict[str, list[dict[str, Any]]]:
    """Form id (upper case) → its records."""
    rng = random.Random(seed)
    org = _ref(1, "100", "总部")
    stocks: list[dict[str, Any]] = [
        {"FSTOCKID": 501, "FNUMBER": "CK001", "FNAME": "总仓", "FMODIFYDATE": _stamp(_EPOCH)},
        {"FSTOCKID": 502, "FNUMBER": "CK002", "FNAME": "备件仓", "FMODIFYDATE": _stamp(_EPOCH)},
    ]
    custs: list[dict[str, Any]] = []
    for i in range(1, customers + 1):
        name = f"{_COMPANIES[i % len(_COMPANIES)]}有限公司{i:03d}"
        custs.append({
            "FCUSTID": 100000 + i, "FNUMBER": f"C{i:03d}", "FNAME": name,
            # Most companies give a landline (every fifth here), the rest a mobile.
            "FSHORTNAME": name[:4],
            "FTEL": f"0755-8888{i:04d}" if i % 5 == 0 else f"1380000{i:04d}",
            "FMODIFYDATE": _stamp(_EPOCH + timedelta(hours=i * 7)),
            "FFORBIDSTATUS": "B" if i % 17 == 0 else "A", "FDOCUMENTSTATUS": "C",
            "FCREATEORGID": org, "FUSEORGID": org,
        })
    mats: list[dict[str, Any]] = []
    for i in range(materials):
        number = f"P-{1001 + i}"
        mats.append({
            "FMATERIALID": 200000 + i, "FNUMBER": number,
            "FNAME": f"{_PARTS[i % len(_PARTS)]} {number}", "FSPECIFICATION": f"型号 M{i % 9 + 1}",
            "FBASEUNITID": _ref(10101, "Pcs", "个"), "FUSEORGID": org,
            "FMODIFYDATE": _stamp(_EPOCH + timedelta(hours=i * 3)),
            "FFORBIDSTATUS": "A", "FDOCUMENTSTATUS": "C",
        })
    orders: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    entry_id = 1
    for c in custs:
        for _ in range(rng.randint(1, 4)):
            n = len(orders) + 1
            day = _EPOCH + timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 9))
            lines = []
            for _line in range(rng.randint(1, 3)):
                m = rng.choice(mats)
                qty, price = rng.randint(1, 5), rng.choice([88, 120, 360, 999])
                lines.append({"FENTRYID": entry_id, "FMATERIALID": _ref(m["FMATERIALID"],
                              m["FNUMBER"], m["FNAME"]), "FUNITID": m["FBASEUNITID"],
                              "FQTY": qty, "FPRICE": price, "FTAXPRICE": price,
                              "FALLAMOUNT": qty * price})
                entry_id += 1
            customer = _ref(c["FCUSTID"], c["FNUMBER"], c["FNAME"])
            orders.append({
                "FID": 300000 + n, "FBILLNO": f"XSDD{n:06d}", "FDATE": _stamp(day.replace(hour=0)),
                "FCUSTID": customer, "FSALEORGID": org, "FDOCUMENTSTATUS": "C",
                "FMODIFYDATE": _stamp(day), "FSALEORDERENTRY": lines,
            })
            if n % 3:
                out_lines = [{"FENTRYID": entry_id + k, "FMATERIALID": line["FMATERIALID"],
                              "FREALQTY": line["FQTY"], "FSTOCKID": _ref(501, "CK001", "总仓"),
                              "FSOORDERNO": f"XSDD{n:06d}"} for k, line in enumerate(lines)]
                entry_id += len(lines)
                shipped = day + timedelta(days=2)
                deliveries.append({
                    "FID": 400000 + n, "FBILLNO": f"XSCKD{n:06d}",
                    "FDATE": _stamp(shipped.replace(hour=0)), "FCUSTOMERID": customer,
                    "FSTOCKORGID": org, "FDOCUMENTSTATUS": "C",
                    "FMODIFYDATE": _stamp(shipped), "FENTITY": out_lines,
                })
    inventory = []
    for m in mats:
        for s in stocks:
            inventory.append({
                "FID": f"inv-{m['FNUMBER']}-{s['FNUMBER']}",
                "FMATERIALID": _ref(m["FMATERIALID"], m["FNUMBER"], m["FNAME"]),
                "FSTOCKID": _ref(s["FSTOCKID"], s["FNUMBER"], s["FNAME"]),
                "FSTOCKORGID": org, "FBASEQTY": rng.randint(0, 200), "FQTY": 0,
            })
    for row in inventory:
        row["FQTY"] = row["FBASEQTY"]
    return {"BD_CUSTOMER": custs, "BD_MATERIAL": mats, "BD_STOCK": stocks,
            "SAL_SALEORDER": orders, "SAL_OUTSTOCK": deliveries, "STK_INVENTORY": inventory,
            "AR_REFUNDBILL": [], "STK_MISDELIVERY": []}
