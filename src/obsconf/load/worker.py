"""A Locust worker for a load that obsconf's master runs: ``python -m obsconf.load.worker --master-host H
--master-port P --locustfile F --user-class C``.

obsconf starts these itself for ``--obsconf-load-workers N``; on another machine, start them by hand
against a master waiting for ``--obsconf-load-remote-workers N`` (README: "Load past one machine"). Each
worker traces every request like the master would and ships its request records inside its stats reports,
the last of them flagged once its users have stopped, so the master knows it has every request.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, connect to the master, run users until the master quits; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m obsconf.load.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--locustfile", required=True, help="the locustfile holding the user class")
    parser.add_argument("--user-class", required=True, help="the user class to run (the contract's load.user_class)")
    parser.add_argument("--no-traceparent", action="store_true",
                        help="send no traceparent (a run sampling below 1.0 lets the service's sampler decide)")
    parser.add_argument("--auth-path", action="append", default=[],
                        help="a path behind the contract's token (the token itself comes in $OBSCONF_LOAD_AUTH_TOKEN)")
    args = parser.parse_args(argv)

    import os
    from pathlib import Path

    from locust import events
    from locust.env import Environment

    from obsconf.errors import ObsconfError
    from obsconf.load.record import Recorder, load_user_class, protected_paths_auth, traced_class
    from obsconf.load.runner import AUTH_TOKEN_ENV

    try:
        auth = protected_paths_auth(args.auth_path, os.environ.get(AUTH_TOKEN_ENV, ""))
        user_class = traced_class(load_user_class(Path(args.locustfile), args.user_class), not args.no_traceparent,
                                  auth)
    except ObsconfError as exc:
        print(f"obsconf worker: {exc}", file=sys.stderr)
        return 2
    recorder = Recorder()
    env = Environment(user_classes=[user_class], events=events)
    env.events.request.add_listener(recorder.on_request)
    runner = env.create_worker_runner(args.master_host, args.master_port)
    stopped = [False]

    def on_test_start(**_kwargs: Any) -> None:
        stopped[0] = False

    def on_test_stop(**_kwargs: Any) -> None:
        stopped[0] = True  # fired once every user finished: the next report holds the last records

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        data["obsconf_records"] = recorder.drain()
        data["obsconf_final"] = stopped[0] and runner.user_count == 0

    env.events.test_start.add_listener(on_test_start)
    env.events.test_stop.add_listener(on_test_stop)
    env.events.report_to_master.add_listener(on_report)
    env.events.init.fire(environment=env, runner=runner, web_ui=None)
    runner.greenlet.join()
    # the master has what it needs (the last report went before the quit): unsent messages may be dropped,
    # else closing zmq's socket waits for a master that is gone
    runner.client.close(linger=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
