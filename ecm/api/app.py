"""The application factory: wires settings, adapters, middleware and routers.

``create_app()`` with no arguments builds the production app (aiokafka publisher,
PostgreSQL key store and read model, opened in the lifespan). Tests pass their own
adapters; nothing else in the package reaches for a concrete adapter.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from ecm.api.auth import Authenticator
from ecm.api.direct import DirectRoutes
from ecm.api.errors import install_handlers
from ecm.api.keys import KeyStore
from ecm.api.metrics import ApiMetrics, NoMetrics
from ecm.api.middleware import ApiMiddleware
from ecm.api.ownership import KafkaOwnershipFeed, Ownership, PgOwnerStore
from ecm.api.ratelimit import TokenBuckets
from ecm.api.readmodel import ReadModel
from ecm.api.routers import events as events_router
from ecm.api.routers import health as health_router
from ecm.api.routers import keys as keys_router
from ecm.api.routers import reads as reads_router
from ecm.api.routers import uploads as uploads_router
from ecm.api.routers import workflow as workflow_router
from ecm.api.uploads import UploadStore
from ecm.api.workflowreads import WorkflowReads
from ecm.producer import EventPublisher, KafkaEventPublisher
from ecm.settings import Settings, get_settings

if TYPE_CHECKING:
    from ecm.portal.accounts import AccountStore

DESCRIPTION = """\
Providers submit visit schedules and electronic call monitoring events here.

* Authenticate with `Authorization: Bearer <api key>` (or `X-API-Key`).
* `202 Accepted` means Kafka acknowledged the events on every in-sync replica; any
  other answer means nothing should be assumed accepted. Retrying with the same
  `event_id` never creates a duplicate downstream.
* Errors are JSON: `{"error", "message", "request_id", "errors": [{"field", "reason"}]}`.
"""


# FastAPI's native OpenTelemetry asks, on every request, whether a provider has been set
# (environment variables and provider lookups: ~3% of the CPU of a single event). The
# service exports Prometheus metrics and sets no OpenTelemetry provider, so it is off.
_NO_OPENTELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters else {})


def _open_pool(settings: Settings) -> Any:
    from psycopg_pool import AsyncConnectionPool

    return AsyncConnectionPool(
        settings.db.dsn_for("api"), min_size=settings.db.pool_min_size,
        max_size=settings.db.pool_max_size, open=False, timeout=5,
        kwargs={"autocommit": True},
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = getattr(app.state, "pool", None)
    if pool is not None:
        await pool.open(wait=False)
    await app.state.publisher.start()
    await app.state.ownership.start()
    _freeze_startup_objects()
    try:
        yield
    finally:
        gc.unfreeze()
        await app.state.ownership.stop()
        await app.state.publisher.stop()
        if pool is not None:
            await pool.close()


def _freeze_startup_objects() -> None:
    """Keep what start-up built (modules, routes, validators) out of later collections.

    A full collection walks every object the collector tracks: ~145,000 after start-up,
    nearly all of them alive as long as the process. Under load each full collection
    stopped the event loop for 70-120 ms, so every request arriving meanwhile waited
    that long. Frozen, they are skipped; objects made later are collected as before,
    and garbage made during start-up is collected first.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    publisher: EventPublisher | None = None,
    keystore: KeyStore | None = None,
    reads: ReadModel | None = None,
    metrics: ApiMetrics | None = None,
    workflow: WorkflowReads | None = None,
    accounts: AccountStore | None = None,
    ownership: Ownership | None = None,
) -> FastAPI:
    """Build the API; adapters not given are the production ones from ``settings``."""
    settings = settings or get_settings()
    app = FastAPI(title="ecm provider API", version="1", description=DESCRIPTION,
                  lifespan=_lifespan, **_NO_OPENTELEMETRY)
    state = app.state
    state.settings, state.metrics = settings, metrics or NoMetrics()
    if keystore is None or reads is None:
        from ecm.api.keystore import PgKeyStore

        state.pool = _open_pool(settings)
        keystore = keystore or PgKeyStore(state.pool)
        reads = reads or ReadModel(state.pool)
        _mount_metrics(app, settings)
    state.keystore, state.reads = keystore, reads
    state.workflow = workflow or (WorkflowReads(reads) if isinstance(reads, ReadModel) else None)
    state.publisher = publisher or KafkaEventPublisher(
        settings.kafka, settings.api.publish_timeout_seconds)
    state.ownership = ownership or _ownership(settings, getattr(state, "pool", None))
    state.authenticator = Authenticator(keystore, settings.api.auth_cache_seconds)
    state.rate_limiter = process_rate_limiter(settings)
    state.uploads = UploadStore(settings.state_dir / "uploads")
    install_handlers(app)
    for module in (health_router, events_router, uploads_router, reads_router, keys_router,
                   workflow_router):
        app.include_router(module.router)
    if accounts is None and getattr(state, "pool", None) is not None:
        from ecm.portal.store import PgAccountStore

        accounts = PgAccountStore(state.pool)
    if accounts is not None:
        from ecm.portal import install_portal  # the portal imports the API's handlers

        install_portal(app, accounts)
    # Added first, so it runs inside ApiMiddleware (request id, body limit, 500, metrics).
    app.add_middleware(DirectRoutes, routes=events_router.DIRECT)
    app.add_middleware(ApiMiddleware, limit_for=_limits(settings), metrics=state.metrics)
    return app


def _ownership(settings: Settings, pool: Any) -> Ownership:
    """The production ownership (the topics and the database), or, with fakes, memory only."""
    if pool is None:
        return Ownership(None, None)
    return Ownership(PgOwnerStore(pool),
                     KafkaOwnershipFeed(settings.kafka, settings.api.ownership_timeout_seconds))


def process_rate_limiter(settings: Settings) -> TokenBuckets:
    """This process's share of every key's rate limit: 1/``workers`` of it.

    With ``ecm api --workers N`` each process keeps its own buckets; each takes an N-th
    of the limit and of the burst, so all processes together never allow a key more
    than the configured limit (a client on one connection, served by one process, gets
    an N-th of it).
    """
    workers = settings.api.workers
    return TokenBuckets(max(1, settings.api.rate_limit_per_minute // workers),
                        max(1, -(-settings.api.rate_limit_burst // workers)))


def _mount_metrics(app: FastAPI, settings: Settings) -> None:
    """Serve ``/metrics`` (the process's metrics and the workflow gauges read from the DB)."""
    from ecm.kpi.workflow_metrics import register_workflow_collector
    from ecm.metrics import metrics_asgi_app

    register_workflow_collector(settings.db.dsn_for("api"))
    app.mount("/metrics", metrics_asgi_app())


def _limits(settings: Settings) -> Any:
    def limit_for(path: str) -> int:
        if path.startswith("/v1/uploads/"):
            return settings.api.max_upload_bytes
        return settings.api.max_body_bytes

    return limit_for
