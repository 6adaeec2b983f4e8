"""README, "Run it yourself": its commands, exactly as written, in an empty directory with a
copy of configs/ and mappings/ and no connection variable set, end with an enriched ticket
through `hub serve` and `hub doctor` reporting every connection reachable; then the console
the README points at is signed in to with the key it made, and lists that ticket.

Only ports change, where the commands take a port: the sandboxes listen on free ports
(`--free-ports`, their URLs read back from `--env-file`) and `hub serve` on a free one, so the
test runs beside others."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
# Variables of the shipped config and the hub's own: none may leak in from the test's run.
_SCRUBBED = re.compile(r"^(HUB_|CRM_|KB_|KINGDEE_|YONYOU_|DINGTALK_|WECOM_|FINANCE_|DUTY_|"
                       r"SERVICE_)")


def readme_blocks() -> list[str]:
    """The bash blocks of the README's "Run it yourself" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Run it yourself", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def _environment(workdir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not _SCRUBBED.match(name)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    env["HOME"] = str(workdir)
    return env


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text(encoding="utf-8").endswith("\n"):
        assert process.poll() is None, "hub sandbox up exited"
        assert time.monotonic() < deadline, "hub sandbox up did not come up"
        time.sleep(0.1)


@pytest.mark.slow  # runs the sandboxes, the CLI and `hub serve` in processes of their own
def test_readme_run_it_yourself__ends_with_an_enriched_ticket(tmp_path: Path) -> None:
    sandboxes, steps = readme_blocks()
    sandbox_command = sandboxes.split("#", 1)[0].strip()
    assert sandbox_command == "hub sandbox up"
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    shutil.copytree(ROOT / "configs", workdir / "configs")
    shutil.copytree(ROOT / "mappings", workdir / "mappings")
    env = _environment(workdir)
    env_file = tmp_path / "sandboxes.env"
    up = subprocess.Popen(  # noqa: S603 -- the README's own command
        [*sandbox_command.split(), "--free-ports", "--env-file", str(env_file)], cwd=workdir,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for(env_file, up)
        for line in env_file.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            env[name] = value
        port = free_port()
        script = steps.replace("hub serve", f"hub serve --port {port}").replace(
            "127.0.0.1:8000", f"127.0.0.1:{port}") + _CONSOLE_CHECK.format(port=port)
        done = subprocess.run(  # noqa: S603 -- the README's own commands
            ["bash", "-c", "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n"
             + script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
            check=False)
    finally:
        up.send_signal(signal.SIGINT)
        sandbox_output = up.communicate(timeout=30)[0].decode()
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert up.returncode == 0, sandbox_output
    assert "api_key: sandbox-crm-key" in sandbox_output  # the credentials are printed
    _check(done.stdout, done.stderr, port, workdir)


# Appended to the README's commands while `hub serve` still runs: "open the console and sign
# in with the key", as a browser would do it (the form's CSRF token, the session cookie).
_CONSOLE_CHECK = """
python - "$KEY" <<'CHECK'
import re, sys, httpx
with httpx.Client(base_url="http://127.0.0.1:{port}/console", follow_redirects=True) as c:
    form = c.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    page = c.post("/signin", data={{"csrf": csrf, "api_key": sys.argv[1], "next": "/tickets"}})
    print("console:", page.status_code, page.url.path, "净水器漏水" in page.text)
CHECK
"""


def _check(out: str, err: str, port: int, workdir: Path) -> None:
    flat = " ".join(out.split())
    for connection in ("crm", "kb", "kingdee", "yonyou", "dingtalk", "wecom"):
        assert f"ok connection:{connection} reachable, credentials accepted" in flat, out
    assert f"sqlite:///{workdir / '.hub' / 'hub.db'}, schema at revision" in flat
    answer = next(line for line in out.splitlines() if line.startswith("{"))
    created = json.JSONDecoder().raw_decode(answer)[0]  # curl ends it with no newline
    assert created["enrichment_status"] == "enriched"
    assert created["customer"]["name"] == "李子涵" and created["customer"]["tier"] == "gold"
    assert "enriched" in out.split("发票抬头开错", 1)[1]  # `hub tickets create` shows it
    assert f"hub serve: listening on http://127.0.0.1:{port}" in err
    assert f"the console at http://127.0.0.1:{port}/console" in err
    assert "console: 200 /console/tickets True" in out, out
    access = [json.loads(line) for line in err.splitlines() if '"event": "access"' in line]
    post = next(line for line in access if line["method"] == "POST")
    assert post["path"] == "/tickets" and post["status"] == 201 and post["request_id"]
