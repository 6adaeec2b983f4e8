"""/webhooks/{connection}: vendor callbacks (WeCom's GET URL check and POSTed events,
DingTalk's event pushes and its bot messages signed in headers)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from hub.api.deps import HubDep
from hub.tickets.inbound import receive_webhook

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.api_route("/{connection}", methods=["GET", "POST"])
async def receive(connection: str, request: Request, hub: HubDep,
                  background: BackgroundTasks) -> Response:
    """Verify, decrypt and record a callback; answer as the vendor expects, then enrich the
    ticket and run the notify rules."""
    result = await receive_webhook(hub, connection, method=request.method,
                                   query=dict(request.query_params),
                                   body=await request.body(),
                                   headers=dict(request.headers))
    if result.after is not None:
        background.add_task(result.after)
    return Response(result.reply.body, result.reply.status_code,
                    media_type=result.reply.media_type)
