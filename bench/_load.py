"""A load generator in a process of its own: N keep-alive HTTP/1.1 connections on asyncio
streams (no client library: the generator must cost far less than the server it drives).

`python bench/_load.py URL_TEMPLATE --ids N --connections 64 --seconds 20 --header K:V`
prints one JSON line: requests, errors, rps, p50_ms, p99_ms, bytes per response, and the
generator's own CPU time per request (client_cpu_ms: ~0.06 ms here, against the servers'
0.2-0.5 ms; a generator of asyncio Protocols instead of streams saved only ~10 % of it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from urllib.parse import urlsplit


async def _connection(host: str, port: int, template: str, ids: int, headers: str,
                      until: float, latencies: list[float], stats: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    rng = random.Random()
    while time.perf_counter() < until:
        path = template.format(id=rng.randint(1, ids))
        started = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        stats["bytes"] = len(body)
        if status != 200:
            stats["errors"] += 1
    writer.close()


async def _main(args: argparse.Namespace) -> dict[str, float]:
    parts = urlsplit(args.url)
    headers = "".join(f"{h}\r\n" for h in args.header)
    latencies: list[float] = []
    stats = {"errors": 0, "bytes": 0}
    started, cpu = time.perf_counter(), time.process_time()
    until = started + args.seconds
    await asyncio.gather(*(
        _connection(parts.hostname or "127.0.0.1", parts.port or 80,
                    parts.path + (f"?{parts.query}" if parts.query else ""), args.ids,
                    headers, until, latencies, stats) for _ in range(args.connections)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": len(latencies), "errors": stats["errors"], "bytes": stats["bytes"],
            "rps": len(latencies) / wall, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "client_cpu_ms": cpu / max(1, len(latencies)) * 1000}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="with {id} where a random id goes")
    parser.add_argument("--ids", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--header", action="append", default=[])
    print(json.dumps(asyncio.run(_main(parser.parse_args()))))
