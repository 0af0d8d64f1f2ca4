"""What every service process has: settings, a database, a broker, the outbox relay, ops routes.

A service builds one `ServiceRuntime` in its app factory (nothing connects at import), adds its
consumers, and runs its HTTP app inside `runtime.running()`.
"""

import asyncio
import contextlib
import gc
import importlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine

from shared.access import AccessControl
from shared.access_log import install_access_log
from shared.access_trail import AccessTrailMiddleware, access_trail_router
from shared.asyncapi import asyncapi_router
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.consumer import EventConsumer, subscribe
from shared.db import create_db_engine
from shared.dependency_state import BROKER, DATABASE
from shared.docs import offline_docs
from shared.errors import install_error_answers
from shared.events.data import EventData
from shared.events.trust import EventTrust
from shared.http import ReadinessCheck, broker_check, database_check, harden, ops_router, probe
from shared.http_metrics import instrument
from shared.inbox import EventHandler
from shared.kafka import BrokerPublisher, make_broker
from shared.lag import ConsumerLag, kafka_consumers
from shared.logging import configure_logging
from shared.migrations import upgrade
from shared.organisation import Organisation
from shared.outbox import OUTBOX_CHANNEL
from shared.relay import OutboxRelay
from shared.service import ServiceDefinition
from shared.settings import S, ServiceSettings, SettingsError, load_settings
from shared.wakeup import listen
from shared.workers import Step, Worker

PROBE_SECONDS = 5.0
"""How often the broker and the database are checked, so their state (shared.dependency_state)
is current even when nothing else asks them: the longest an outage goes unnoticed."""


@dataclass
class ServiceRuntime:
    definition: ServiceDefinition
    settings: ServiceSettings
    engine: Engine
    broker: KafkaBroker
    relay: OutboxRelay
    workers: list[Worker] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, definition: ServiceDefinition, settings: ServiceSettings) -> "ServiceRuntime":
        engine = create_db_engine(settings.resolved_database_url)
        broker = make_broker(
            settings.kafka_bootstrap_servers,
            client_id=f"qa-{settings.service_name}",
            idempotent_producer=settings.kafka_idempotent_producer,
            security=settings.kafka_security,
        )
        relay = OutboxRelay(engine, BrokerPublisher(broker), batch_size=settings.outbox_batch_size)
        return cls(definition, settings, engine, broker, relay)

    @property
    def name(self) -> str:
        return self.settings.service_name

    def consume(self, handlers: Mapping[type[EventData], EventHandler]) -> EventConsumer:
        """Subscribe `handlers` to the topics the service declares it consumes, in its group.

        Every declared topic needs a handler and every handled event a declared topic, so the
        declaration (and the AsyncAPI document made from it) cannot drift from what runs.
        """
        handled = {event.topic for event in handlers}
        if handled != set(self.definition.consumes):
            raise ValueError(
                f"{self.name}: handlers cover topics {sorted(handled)}, but the service "
                f"declares it consumes {sorted(self.definition.consumes)}"
            )
        consumer = EventConsumer(
            name=self.definition.consumer_group,
            engine=self.engine,
            dead_letters=BrokerPublisher(self.broker),
            handlers=handlers,
            trust=EventTrust.of_contract(self.settings.case_management_source),
            max_attempts=self.settings.consumer_max_attempts,
            retry_backoff_seconds=self.settings.consumer_retry_backoff_seconds,
        )
        subscribe(
            self.broker,
            consumer,
            *self.definition.consumes,
            batch_size=self.settings.consumer_batch_size,
        )
        return consumer

    def every(self, name: str, seconds: float, step: Step, wake_on: str | None = None) -> Worker:
        """Run `step` in the background while the service runs (see Worker): every `seconds`,
        and at once when a transaction commits work on the `wake_on` channel."""
        worker = Worker(name, seconds, step, wake_on)
        self.workers.append(worker)
        return worker

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {"database": database_check(self.engine), "broker": broker_check(self.broker)}

    async def _probe(self) -> bool:
        await probe(self.readiness_checks())  # what it finds is told to each one's state
        return False

    def ops_router(self) -> APIRouter:
        router = ops_router(self.readiness_checks())
        router.include_router(asyncapi_router(self.definition, self.broker))
        return router

    def token_verifier(self) -> TokenVerifier:
        s = self.settings
        return TokenVerifier(
            s.auth_issuer,
            s.auth_audience,
            jwks_url=s.auth_jwks_url,
            jwks_file=s.auth_jwks_file,
            max_lifetime_seconds=s.auth_max_token_seconds,
        )

    def secure(
        self, app: FastAPI, organisation: Organisation, clock: Clock, *routers: APIRouter
    ) -> None:
        """Mount `routers` (and the access trail's) behind the guard, trail and size limit."""
        offline_docs(app)  # /docs and /redoc from packaged assets, not a CDN
        control = AccessControl(
            self.definition.route_permissions,
            self.token_verifier(),
            organisation,
            machine_clients=self.settings.machine_clients,
        )
        control.install(app)
        install_error_answers(app)
        for router in (*routers, access_trail_router(self.engine)):
            app.include_router(router, dependencies=[Depends(control.guard)])
        app.add_middleware(AccessTrailMiddleware, engine=self.engine, clock=clock)
        # Added last, so outermost: headers on every answer, sizes and hostile input refused first.
        harden(app, self.settings.max_request_bytes)
        # Outside even those, so every refusal (413, hostile input) is counted and logged too.
        instrument(app)
        install_access_log(app)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Migrate, connect, consume, relay and run the workers for the block; then stop cleanly."""
        await asyncio.to_thread(upgrade, self.name, self.settings.resolved_database_url)
        DATABASE.succeeded()
        await self.broker.start()
        BROKER.succeeded()
        self._stop.clear()
        lag = ConsumerLag(kafka_consumers(self.broker))
        probing = Worker("dependency-probe", PROBE_SECONDS, self._probe)
        channels = {OUTBOX_CHANNEL, *(w.wake_on for w in self.workers if w.wake_on)}
        tasks = [
            asyncio.create_task(listen(self.engine, channels, self._stop)),
            asyncio.create_task(self.relay.run(self._stop, self.settings.outbox_poll_seconds)),
            asyncio.create_task(lag.run(self._stop)),
            asyncio.create_task(probing.run(self._stop)),
            *(asyncio.create_task(worker.run(self._stop)) for worker in self.workers),
        ]
        # What start-up built (modules, models, compiled statements) lives as long as the
        # process: frozen, the collector stops walking it at every full collection. Start-up's
        # garbage is collected first, or freezing would keep it for good.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)
            await self.broker.stop()
            self.engine.dispose()


def serve(settings_class: type[S], app_module: str) -> None:
    """Run the app `app_module.create_app(settings)` in this process until SIGINT/SIGTERM,
    every line it writes a JSON line.

    Logging is set up before the app's module is imported and the app built, so that what the
    libraries say meanwhile (a deprecation warning at import, FastStream's and aiokafka's
    start-up lines) goes out as JSON lines too.
    """
    configure_logging(settings_class.service_name)  # until the settings say which level
    try:
        settings = load_settings(settings_class)
    except SettingsError as exc:  # which variables are missing or wrong, as a JSON line
        logging.getLogger(__name__).critical(str(exc))
        raise SystemExit(2) from exc
    configure_logging(settings.service_name, settings.log_level)
    create_app = cast(Callable[[S], FastAPI], importlib.import_module(app_module).create_app)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


def settings_or_exit(settings_class: type[S]) -> S:
    """Load settings, or print which variables are missing and exit with status 2."""
    try:
        return load_settings(settings_class)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
