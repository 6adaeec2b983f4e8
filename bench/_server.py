"""The CRM sandbox for the benchmarks, in a process of its own or in a thread of this one.

Run as a script (`python bench/_server.py --customers N --api-key K`), it serves the sandbox,
prints its base URL, then answers each `cpu` line on stdin with its own CPU seconds so far,
and exits when stdin closes. `SandboxProcess` drives that from the benchmark.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, Self

__all__ = ["ChildServer", "SandboxProcess", "SandboxThread"]


class ChildServer(AbstractContextManager["ChildServer"]):
    """A sandbox script in a child process: it prints its base URL, answers one line on stdin
    with one line on stdout, and exits when stdin closes."""

    def __init__(self, command: list[str]) -> None:
        self._command = command
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.startup_seconds = 0.0

    def __enter__(self) -> Self:
        started = time.perf_counter()
        self._proc = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, bufsize=1)
        self.url = self._readline()
        self.startup_seconds = time.perf_counter() - started
        return self

    def ask(self, question: str) -> str:
        """Send one line to the server; its one-line answer."""
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(question + "\n")
        return self._readline()

    def _readline(self) -> str:
        assert self._proc is not None
        stdout: IO[str] | None = self._proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process exited (code {self._proc.wait()})")
        return line.strip()

    def __exit__(self, *exc_info: Any) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class SandboxProcess(ChildServer):
    """The CRM sandbox in a child process, so that client and server each have a core."""

    def __init__(self, *, customers: int, api_key: str) -> None:
        super().__init__([sys.executable, str(Path(__file__).resolve()),
                          "--customers", str(customers), "--api-key", api_key])

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (user + system, all its threads)."""
        return float(self.ask("cpu"))


class SandboxThread(AbstractContextManager["SandboxThread"]):
    """The sandbox in a thread of this process (`connectors.sdk.sandbox.serve`).

    Client and server then share one GIL, and the server's CPU cannot be told apart from the
    client's: `cpu_seconds()` is None.
    """

    def __init__(self, *, customers: int, api_key: str) -> None:
        self._customers, self._api_key = customers, api_key
        self._serving: AbstractContextManager[str] | None = None
        self.url = ""
        self.startup_seconds = 0.0

    def __enter__(self) -> SandboxThread:
        from connectors.crm.sandbox import create_app
        from connectors.sdk.sandbox import serve

        started = time.perf_counter()
        self._serving = serve(create_app(api_key=self._api_key, customers=self._customers))
        self.url = self._serving.__enter__()
        self.startup_seconds = time.perf_counter() - started
        return self

    def cpu_seconds(self) -> float | None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        if self._serving is not None:
            self._serving.__exit__(None, None, None)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()

    from connectors.crm.sandbox import create_app
    from connectors.sdk.sandbox import serve

    with serve(create_app(api_key=args.api_key, customers=args.customers)) as url:
        print(url, flush=True)
        for line in sys.stdin:
            if line.strip() == "cpu":
                print(time.process_time(), flush=True)


if __name__ == "__main__":
    _main()
