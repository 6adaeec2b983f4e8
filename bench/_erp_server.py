"""An ERP sandbox (Kingdee or YonBIP) in a child process for the write-back benchmark.

Run as a script (`python bench/_erp_server.py --erp yonyou --latency-ms 20`), it serves the
sandbox on a free loopback port, prints the base URL a connection takes (K/3 Cloud's
`…/k3cloud/`, YonBIP's data-centre lookup host), and exits when stdin closes (any line it
reads is answered with "ok"), so `bench._server.ChildServer` drives it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.kingdee.sandbox import create_app as kingdee_app  # noqa: E402
from connectors.sdk.sandbox import serve  # noqa: E402
from connectors.yonyou.sandbox import create_app as yonyou_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--erp", choices=("kingdee", "yonyou"), default="kingdee")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    create_app = kingdee_app if options.erp == "kingdee" else yonyou_app
    with serve(create_app(latency_ms=options.latency_ms)) as url:
        print(f"{url}/k3cloud/" if options.erp == "kingdee" else url, flush=True)  # noqa: T201
        for _line in sys.stdin:
            print("ok", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
