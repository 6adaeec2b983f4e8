"""The bare FastAPI app the hub is compared with: one route answering a constant JSON body.

`python bench/_bare_api.py --port N --body FILE` (uvicorn, the same settings as `hub serve`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response


def create_app(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/tickets/{ticket_id}")
    async def ticket(ticket_id: int) -> Response:  # noqa: ARG001 -- same route shape
        return Response(body, media_type="application/json")

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args()
    # uvicorn's defaults as `hub serve` runs them: logging at the hub's default level,
    # WARNING, so neither server writes an access line per request.
    uvicorn.run(create_app(args.body.read_bytes()), host="127.0.0.1", port=args.port,
                log_level="warning")
