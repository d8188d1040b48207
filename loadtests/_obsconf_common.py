"""obsconf load tests for Locust: user classes per profile of the reference service (or your own service).

Locust skips files starting with ``_`` when it is given this directory, so this module only holds what
the user classes share: the loopback guard, profile selection and the common request mix.

Run (headless, against the reference service on 127.0.0.1:8000)::

    locust -f loadtests --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000
    locust -f loadtests --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000 PersistUser
    locust -f loadtests --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000 --obsconf-profile aurum
    locust -f loadtests --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000 PersistUser --tags critical

(Name user classes before ``--tags``: it takes every word after it.)

Which users run: the classes named on the command line (Locust's own selection), else those of
``--obsconf-profile`` (env ``OBSCONF_PROFILE``; default ``common``: only the routes every profile has).
Profiles: common (CommonUser), persist (PersistUser), syncd (SyncdUser), aurum (AurumUser), prethrift
(PrethriftUser), assistant (AssistantUser).

Every user class mixes, by weight: normal requests (tag ``normal``), slow ones (``slow``: ``/api/slow``),
failing ones (``failing``: ``/api/fail?status=...``, counted as a Locust success when the service answers
the status that was asked for, so Locust's failure column shows real misbehaviour only) and the profile's
critical path (``critical``, with a W3C ``traceparent`` header as a traced client would send). Select
with ``--tags`` / ``--exclude-tags``.

Only loopback: the host must be 127.0.0.0/8, ``localhost`` or ``[::1]``; any other host is refused
before a single request is sent, unless ``OBSCONF_ALLOW_REMOTE_HOST=1`` is set in the environment (we
never send load off this machine by accident).

Scale-out: one Locust process drives about one core (FastHttpUser: some 16k req/s here). To use more
cores, let Locust fork workers, which import these same files::

    locust -f loadtests --headless --processes 2 -u 40 -r 10 -t 30s --host http://127.0.0.1:8000

or run a master and workers yourself (same machine, or other machines you own)::

    locust -f loadtests --master --headless --expect-workers 2 -u 40 -r 10 -t 30s --host http://127.0.0.1:8000
    locust -f loadtests --worker --master-host 127.0.0.1     # run twice

Workers check the host with the same guard. Mind the 2-core machine: a service pinned to one core and a
load generator on the other is the fair setup (``taskset -c 1 locust ...``).
"""

from __future__ import annotations

import logging
import random
import secrets
import sys
from collections.abc import Callable
from typing import Any

from _obsconf_guard import (
    DEFAULT_PROFILE,
    PROFILE_ENV,
    PROFILES,
    RemoteHostRefused,
    check_host,
    select_profile,
)
from locust import FastHttpUser, between, events, tag, task
from locust.exception import StopUser

log = logging.getLogger("obsconf.loadtests")


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument(
        "--obsconf-profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        env_var=PROFILE_ENV,
        help="obsconf: which profile's users run when no user class is named (default: common)",
    )


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    hosts = {environment.host} | {getattr(u, "host", None) for u in environment.user_classes}
    for host in sorted(h for h in hosts if h):
        try:
            check_host(host)
        except RemoteHostRefused as exc:
            # SystemExit passes through Locust's event handler (an Exception would only be logged)
            sys.exit(f"obsconf loadtests: {exc}")
    options = environment.parsed_options
    if options is None or getattr(options, "user_classes", None):
        return  # library use, or the user named classes: Locust's own selection wins
    profile = getattr(options, "obsconf_profile", DEFAULT_PROFILE)
    chosen = select_profile(environment.user_classes, profile)
    if not chosen:
        sys.exit(f"obsconf loadtests: no user class for profile {profile!r} (have: "
                 f"{', '.join(u.__name__ for u in environment.user_classes)})")
    environment.user_classes[:] = chosen


def get_task(*paths: str, weight: int, tags: tuple[str, ...] = ("normal",)) -> Callable[[Any], None]:
    """A task of weight ``weight`` (tagged ``tags``) that GETs one of ``paths``, picked at random."""

    def get(user: Any) -> None:
        user.expect("GET", paths[0] if len(paths) == 1 else random.choice(paths))

    return tag(*tags)(task(weight)(get))


def traceparent() -> tuple[str, str]:
    """A fresh sampled W3C ``traceparent`` header and its trace id."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


class ObsconfUser(FastHttpUser):
    """Base of the profile users: the request mix every profile serves, and the loopback guard.

    Weights (per 16 requests, roughly): 10 normal ``/api/ok``, 1 ``/metrics`` scrape, 2 slow, 2 failing,
    plus each subclass's critical path and profile routes.
    """

    abstract = True
    profile = DEFAULT_PROFILE
    wait_time = between(0.05, 0.5)

    def on_start(self) -> None:
        # defence in depth: the init hook does not run when Locust is used as a library
        try:
            check_host(self.host or "")
        except RemoteHostRefused as exc:
            log.error("%s", exc)
            if self.environment.runner is not None:
                self.environment.runner.quit()
            raise StopUser() from exc

    def expect(self, method: str, path: str, *, status: int | tuple[int, ...] = (200, 201, 202, 204),
               name: str | None = None, **kwargs: Any) -> None:
        """Send a request; count it as failed unless the service answers one of ``status``."""
        wanted = (status,) if isinstance(status, int) else status
        with self.client.request(method, path, name=name or path, catch_response=True, **kwargs) as resp:
            if resp.status_code in wanted:
                resp.success()
            else:
                body = (resp.text or "")[:120] if resp.status_code else str(resp.error)
                resp.failure(f"{method} {path}: HTTP {resp.status_code}, wanted {'/'.join(map(str, wanted))}: {body}")

    def traced(self) -> dict[str, str]:
        return {"traceparent": traceparent()[0]}

    ok = get_task("/api/ok", weight=10)
    scrape_metrics = get_task("/metrics", weight=1)

    @tag("slow")
    @task(2)
    def slow(self) -> None:
        ms = random.choice((50, 100, 300))
        self.expect("GET", f"/api/slow?ms={ms}", name="/api/slow?ms=[ms]")

    @tag("failing")
    @task(2)
    def failing(self) -> None:
        status = random.choice((500, 500, 502, 503, 404))
        self.expect("GET", f"/api/fail?status={status}", status=status, name=f"/api/fail?status={status}")
