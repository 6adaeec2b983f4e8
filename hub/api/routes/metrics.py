"""/metrics: Prometheus exposition (scrape it with an integrator or admin API key)."""

from __future__ import annotations

import anyio
from fastapi import Response

from hub.admin.metrics import CONTENT_TYPE, render_metrics
from hub.api.admission import admitted_router
from hub.api.deps import HubDep

router = admitted_router("runs", tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {
    "description": "Prometheus text exposition: runs, records, retries, rate-budget waits "
                   "per job; the outbox by state; dead letters; this process's vendor "
                   "request latency per connection, operation and outcome.",
    "content": {"text/plain": {"example": 'hub_runs_total{job="crm_customers",'
                                          'status="succeeded"} 3.0\n'}}}})
async def metrics(hub: HubDep) -> Response:
    body = await anyio.to_thread.run_sync(render_metrics, hub)
    return Response(body, media_type=CONTENT_TYPE)
