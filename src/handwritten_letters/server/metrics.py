"""Operations: Prometheus metrics and structured access logs, as one pure ASGI middleware.

Metrics (``GET /metrics``): requests by route, method and status; latency histograms by route;
letters read by label; refusals by kind; the served model's name and version. With several
server workers, ``letters serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and every worker's numbers
are summed (prometheus-client's multiprocess mode).

Access logs: one JSON object a line on stderr (logger ``handwritten_letters.access``) with the
request id (``X-Request-ID`` honoured when it is sane, made otherwise, and sent back), method,
route, status, latency and model version. Never image data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

ROUTES = ("/api/v1/letters", "/api/v1/words", "/api/v1/feedback", "/api/v1/model", "/health", "/ready", "/metrics",
          "/", "/docs", "/openapi.json")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

REQUESTS = Counter("letters_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("letters_request_seconds", "Time to answer a request", ["route"], buckets=LATENCY_BUCKETS)
LETTERS_READ = Counter("letters_read_total", "Letters answered, by label", ["label"])
REFUSALS = Counter("letters_refused_total", "Images not answered, by kind", ["kind"])
MODEL = Gauge("letters_model_info", "The served model (value 1)", ["name", "version"], multiprocess_mode="max")

access_log = logging.getLogger("handwritten_letters.access")


def route_of(path: str, template: str | None = None) -> str:
    """A bounded label for the route: the matched route's template (``/api/v1/profiles/{profile_id}``,
    never the id itself) or a listed path; unknown paths share one, so label cardinality stays small."""
    if path.startswith("/static/"):
        return "/static"
    if template and template.startswith("/api/"):
        return template
    return path if path in ROUTES else "other"


def record_model(name: str, version: str) -> None:
    MODEL.labels(name=name, version=version).set(1)


def record_predictions(predictions) -> None:
    for prediction in predictions:
        if prediction.label:
            LETTERS_READ.labels(label=prediction.label).inc()
        else:
            REFUSALS.labels(kind=prediction.verdict).inc()


def metrics_body() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class Observability:
    """Counts, times and logs every HTTP request; sets ``X-Request-ID`` on the response."""

    def __init__(self, app, model_version: str = ""):
        self.app = app
        self.model_version = model_version

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                   (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            matched = scope.get("route")  # set by the router on this same scope once a route matched
            route = route_of(scope.get("path", ""), getattr(matched, "path", None))
            REQUESTS.labels(route=route, method=scope.get("method", ""), status=str(status)).inc()
            LATENCY.labels(route=route).observe(seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(json.dumps({
                    "time": round(time.time(), 3), "request_id": request_id, "method": scope.get("method"),
                    "route": route, "status": status, "ms": round(seconds * 1000, 2),
                    "model_version": self.model_version}))
