"""Health for orchestrators and Prometheus metrics; no login needed, no personal data.

`/livez` says only that this process answers (a liveness probe: restart when it does not);
`/healthz` also asks Temporal and the database (readiness: take the pod out of rotation
while they are unreachable, without restarting it for an outage elsewhere)."""

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import ServicesDep
from api.metrics import CONTENT_TYPE
from store.reads.operations import database_answers

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str  # always "ok": an answer at all is the information


class Health(BaseModel):
    status: str  # "ok" or "degraded"
    temporal: bool
    database: bool


@router.get("/livez", name="health.live")
async def livez() -> Alive:
    """200 while the process serves requests; checks nothing else."""
    return Alive(status="ok")


@router.get("/healthz", name="health.check", responses={503: {"model": Health}})
async def healthz(services: ServicesDep, response: Response) -> Health:
    """200 when Temporal and the database answer, 503 (same body) when one does not."""
    temporal, database = await asyncio.gather(
        services.gateway.reachable(), run_in_threadpool(database_answers, services.engine)
    )
    healthy = temporal and database
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if healthy else "degraded", temporal=temporal, database=database)


@router.get("/metrics", name="health.metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    body = await run_in_threadpool(services.metrics.render)
    return Response(content=body, media_type=CONTENT_TYPE)
