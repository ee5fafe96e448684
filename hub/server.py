"""Run one hub with its web app in a single event loop (``heartline hub``)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import uvicorn

from hub.app.builder import open_hub
from hub.app.interface import HubInterface
from hub.config import HubConfig
from hub.errors import HeartlineError, StartError, StoreError
from hub.health import BleState
from hub.homeassistant.publisher import HomeAssistantBridge
from hub.systemd import (
    SystemdNotifier,
    hub_liveness,
    hub_status,
    run_watchdog,
    watchdog_interval,
)
from hub.tasks import stop_on_signals
from hub.web.api import hub_app

_LOGGER = logging.getLogger(__name__)

# uvicorn's own graceful shutdown waits this long for open requests (SSE streams end at once).
WEB_SHUTDOWN_S: Final = 3
# Bounds on each stopping step. The hub's own goodbye is an ingest flush, the retained
# "offline" status (paho waits at most 3 s for its PUBACK) and closing the adapter; the unit
# file's TimeoutStopSec (20 s) stays above the sum, so systemd never has to SIGKILL us.
WEB_STOP_BOUND_S: Final = WEB_SHUTDOWN_S + 2.0
HUB_STOP_BOUND_S: Final = 8.0
EXIT_STOP_TIMEOUT: Final = 1
READY_POLL_S: Final = 0.05
# Starting a scan retries InProgress/NotReady for a few seconds (hub.ble.scanning); READY
# waits for that to settle, but not longer than this.
BLE_SETTLE_S: Final = 30.0


class EmbeddedWebServer(uvicorn.Server):
    """uvicorn inside our event loop: the caller owns SIGINT/SIGTERM and stops it itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(
    app: object, host: str, port: int, *, trusted_proxies: Sequence[str] = ()
) -> EmbeddedWebServer:
    """X-Forwarded-For / -Proto are believed only from ``trusted_proxies`` (web.trusted_proxies)."""
    return EmbeddedWebServer(
        uvicorn.Config(
            app,  # type: ignore[arg-type]  # any ASGI app
            host=host,
            port=port,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=WEB_SHUTDOWN_S,
        ),
    )


def bind_web_socket(host: str, port: int) -> socket.socket:
    """The web app's listening socket, bound before the hub starts: a port in use is one line
    (StartError) before anything else runs, not uvicorn's traceback after everything did."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn does: a restart may bind while old connections sit in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as ex:
        sock.close()
        if ex.errno == errno.EADDRINUSE:
            raise StartError(
                f"web.port: {host}:{port} is already in use; stop the program using it "
                f"(`ss -ltnp 'sport = :{port}'` names it) or set web.port to a free port"
            ) from ex
        if ex.errno == errno.EADDRNOTAVAIL:
            raise StartError(
                f"web.listen: {host} is not an address of this machine; set web.listen to one of its "
                "addresses (127.0.0.1 for this machine only, 0.0.0.0 for every interface)"
            ) from ex
        if ex.errno == errno.EACCES:
            raise StartError(
                f"web.port: binding {host}:{port} is not permitted (ports below 1024 need privileges); "
                "set web.port to 1024 or above"
            ) from ex
        raise StartError(
            f"web: cannot listen on {host}:{port} ({ex.strerror}); check web.listen and web.port"
        ) from ex
    return sock


async def serve_hub(config: HubConfig, *, environ: Mapping[str, str] | None = None) -> None:
    """Run until SIGINT/SIGTERM, then stop within a bound: web first, then the hub (ingest
    flush, retained "offline" status, adapter and database closed). Under systemd
    (``Type=notify``) it reports READY/STATUS/STOPPING and pings the watchdog while alive.

    Raises StartError (one line: what, and the fix) when the web port cannot be bound or the
    database cannot be used."""
    notifier = SystemdNotifier.from_environ(environ)
    ping_every_s = watchdog_interval(environ)
    loop = asyncio.get_running_loop()
    web_socket = bind_web_socket(config.web.listen, config.web.port)
    notifier.status("starting")
    try:
        async with contextlib.AsyncExitStack() as stack:
            stop = stack.enter_context(stop_on_signals())
            try:
                hub = await stack.enter_async_context(open_hub(config))
            except StoreError as ex:
                raise StartError(str(ex)) from ex
            except HeartlineError:
                raise  # already one line naming what and the fix
            except OSError as ex:  # a file in the data dir the hub may not read or write
                raise StartError(_os_error_line(ex, config)) from ex
            await _serve(hub, config, notifier, ping_every_s, stop, web_socket=web_socket)
            # Leaving the block is the hub's goodbye; past the bound, exit hard (see _exit_hard).
            deadline = loop.call_later(HUB_STOP_BOUND_S, _exit_hard, "hub")
        deadline.cancel()
    finally:
        web_socket.close()
        notifier.close()


def _os_error_line(ex: OSError, config: HubConfig) -> str:
    what = ex.filename or config.hub.data_dir
    return (
        f"cannot start: {what}: {ex.strerror or ex}; make it readable and writable by the user the hub "
        f"runs as (its data lives in hub.data_dir, {config.hub.data_dir})"
    )


async def _serve(
    hub: HubInterface,
    config: HubConfig,
    notifier: SystemdNotifier,
    ping_every_s: float | None,
    stop: asyncio.Event,
    *,
    web_socket: socket.socket,
) -> None:
    """The web app (and the Home Assistant bridge, the watchdog) beside a running hub, until stop."""
    web = web_server(
        hub_app(hub, auth=config.web),
        config.web.listen,
        config.web.port,
        trusted_proxies=config.web.trusted_proxies,
    )
    async with asyncio.TaskGroup() as group:
        web_task = group.create_task(web.serve(sockets=[web_socket]), name="web")
        bridge = (
            group.create_task(HomeAssistantBridge(hub, config.homeassistant).run(), name="homeassistant")
            if config.homeassistant is not None
            else None
        )
        watchdog: asyncio.Task[None] | None = None
        if await _until_ready(hub, web, stop):
            notifier.ready(hub_status(hub))
            _LOGGER.info("hub ready on http://%s:%d", config.web.listen, config.web.port)
            if ping_every_s is not None:
                liveness = hub_liveness(hub, hub.heartbeats)
                watchdog = group.create_task(
                    run_watchdog(notifier, ping_every_s, liveness, lambda: hub_status(hub)),
                    name="systemd-watchdog",
                )
        await stop.wait()
        _LOGGER.info("stopping")
        notifier.stopping()
        for task in (watchdog, bridge):
            if task is not None:
                task.cancel()
        web.should_exit = True
        await _bounded(web_task, WEB_STOP_BOUND_S, "web server")


async def _until_ready(hub: HubInterface, web: EmbeddedWebServer, stop: asyncio.Event) -> bool:
    """Wait until the web app listens and BLE scanning has settled (or a stop).

    A BLE adapter that cannot start does not hold READY back forever: after BLE_SETTLE_S the
    hub reports ready anyway (the web app and relay work; STATUS and /api/health say what is
    wrong with Bluetooth, and the scan supervisor keeps trying)."""
    started = loop_time()
    while not stop.is_set():
        if web.started:
            starting = hub.health().ble.state is BleState.STARTING
            if not starting or loop_time() - started > BLE_SETTLE_S:
                return True
        await asyncio.sleep(READY_POLL_S)
    return False


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _bounded(task: asyncio.Task[None], bound_s: float, what: str) -> None:
    """Wait for a stopping task; past the bound, exit hard rather than hang in systemd's stop.

    Nothing is lost by that: every signal and receipt is already committed to SQLite (WAL,
    synchronous=FULL) before it is acknowledged; only the goodbye is skipped.
    """
    done, _ = await asyncio.wait({task}, timeout=bound_s)
    if not done:
        _exit_hard(what, bound_s)


def _exit_hard(what: str, bound_s: float = HUB_STOP_BOUND_S) -> None:
    _LOGGER.error("%s did not stop within %.0f s; exiting without finishing its goodbye", what, bound_s)
    logging.shutdown()
    os._exit(EXIT_STOP_TIMEOUT)
