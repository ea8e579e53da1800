"""`/metrics` (Prometheus text format) and `/healthz` on `crswatch serve` (crswatch.metrics reads
the store at scrape time; a GET changes nothing)."""

from __future__ import annotations

from flask import Blueprint, Response

from crswatch.metrics import healthz_answer, render

from .site import site

health = Blueprint("health", __name__)


@health.get("/metrics")
def metrics() -> Response:
    body, content_type = render(site().metrics)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


@health.get("/healthz")
def healthz() -> Response:
    here = site()
    body, content_type, status = healthz_answer(here.config, here.store, here.clock())
    return Response(
        body, status=int(status.split()[0]), content_type=content_type, headers={"Cache-Control": "no-store"}
    )
