"""The real Prometheus 2.42 and 3.16, side by side, scraping the same targets: where 3.x changed what a
check sees, the check's verdict must not change (bucket bounds, quantiles), or the difference must be
reported with its fix (Content-Type, UTF-8 names, rules with integer bounds).

Both servers run as local processes from the provisioned binaries (`obsconf provision`); a missing one
fails with that hint. About 15 s: each server needs a few seconds to discover and scrape its targets.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from obsconf import provision
from obsconf.checks.alerts import check_bound_matchers
from obsconf.checks.metrics import check_series
from obsconf.contract.model import MetricSpec
from obsconf.errors import ObsconfError
from obsconf.ports import LOOPBACK, free_port
from obsconf.readers.prometheus import PrometheusReader
from obsconf.settings import PROMETHEUS_VERSIONS, Settings
from obsconf.stack.prometheus import PrometheusProcess

pytestmark = [pytest.mark.slow, pytest.mark.stack]

TEXT_004 = "text/plain; version=0.0.4; charset=utf-8"
# What the Go client (client_golang) exposes: integer bounds and quantiles without ".0".
GO_CLIENT = """# HELP lat_seconds Request latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{op="get",le="0.5"} 1
lat_seconds_bucket{op="get",le="1"} 2
lat_seconds_bucket{op="get",le="10"} 3
lat_seconds_bucket{op="get",le="+Inf"} 3
lat_seconds_sum{op="get"} 4
lat_seconds_count{op="get"} 3
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="1"} 0.9
rpc_seconds_sum 3
rpc_seconds_count 7
"""
UTF8_NAME = """# HELP ok_total Fine on both.
# TYPE ok_total counter
ok_total 1
# HELP "http.server.active_requests" An OpenTelemetry name, quoted (Prometheus 3 accepts UTF-8 names).
# TYPE "http.server.active_requests" gauge
{"http.server.active_requests"} 2
"""
RULES = """groups:
  - name: bounds
    rules:
      - alert: IntegerBound
        expr: lat_seconds_bucket{job="go",le="1"} > 0
      - alert: PortableBound
        expr: lat_seconds_bucket{job="go",le=~"1|1.0"} > 0
"""
LAT = MetricSpec("lat_seconds", "histogram", labels=("op",), buckets=(0.5, 1.0, 10.0, float("inf")), loc="lat")
LAT_WRONG = MetricSpec("lat_seconds", "histogram", labels=("op",), buckets=(0.5, 2.0, 10.0, float("inf")), loc="lat")


def python_client() -> bytes:
    """A real prometheus_client exposition of the same histogram (it writes le="1.0" itself)."""
    registry = CollectorRegistry()
    hist = Histogram("lat_seconds", "Request latency.", ["op"], buckets=(0.5, 1, 10), registry=registry)
    for value in (0.2, 0.7, 5):
        hist.labels("get").observe(value)
    return generate_latest(registry)


class Exposition(http.server.BaseHTTPRequestHandler):
    BODIES: dict[str, tuple[bytes, str | None]] = {
        "/go": (GO_CLIENT.encode(), TEXT_004),
        "/python": (python_client(), TEXT_004),
        "/no-content-type": (GO_CLIENT.encode(), None),
        "/utf8": (UTF8_NAME.encode(), TEXT_004),
    }

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body, content_type = self.BODIES[self.path]
        self.send_response(200)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Running:
    version: str
    reader: PrometheusReader
    process: PrometheusProcess


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Running]]:
    """Prometheus 3.16 and 2.42, each scraping every path of one exposition server, rules loaded."""
    exposition = http.server.ThreadingHTTPServer((LOOPBACK, 0), Exposition)
    threading.Thread(target=exposition.serve_forever, daemon=True).start()
    address = f"{LOOPBACK}:{exposition.server_address[1]}"
    rules = tmp_path_factory.mktemp("rules") / "bounds.rules.yaml"
    rules.write_text(RULES)
    running: dict[str, Running] = {}
    try:
        for version in PROMETHEUS_VERSIONS:
            settings = Settings.from_env(prometheus_version=version)
            workdir = tmp_path_factory.mktemp(f"prometheus-{version}")
            process = PrometheusProcess(provision.binary(settings, "prometheus"), free_port(), workdir,
                                        timeout=30, registry=settings.run_dir)
            running[version] = Running(version, PrometheusReader(process.url), process.start())
            for path in Exposition.BODIES:
                process.add_target(path.strip("/"), address, path)
            process.add_rules("bounds", rules)
        for server in running.values():
            for job in ("go", "python", "utf8" if server.version.startswith("3") else "no-content-type"):
                server.reader.wait_for_target_up(job, timeout=20)
        yield running
    finally:
        for server in running.values():
            server.process.stop()
        exposition.shutdown()


def by_release(servers: dict[str, Running], promql: str) -> dict[str, list]:  # noqa: ANN401
    return {v: s.reader.wait_for(promql, timeout=10) for v, s in servers.items()}


def test_each_release_is_the_version_it_claims(servers: dict[str, Running]) -> None:
    assert servers["3.16"].reader.version() == "3.16.0"  # the Go build stamps it (-ldflags -X ...Version)
    assert servers["2.42"].reader.version().startswith("2.42.")


def test_bucket_bounds_differ_in_text_but_the_check_agrees(servers: dict[str, Running]) -> None:
    series = by_release(servers, '{__name__="lat_seconds_bucket", job="go"}')
    les = {v: sorted(s.labels["le"] for s in found) for v, found in series.items()}
    # The difference: 3.x rewrites a Go service's le="1" to "1.0"; 2.42 keeps the exposed text.
    assert les == {"2.42": ["+Inf", "0.5", "1", "10"], "3.16": ["+Inf", "0.5", "1.0", "10.0"]}
    # The verdicts do not differ: right layout passes on both, a wrong one fails on both, with one message.
    assert check_series(LAT, series["2.42"]) == check_series(LAT, series["3.16"]) == []
    wrong = {v: check_series(LAT_WRONG, found) for v, found in series.items()}
    assert [f.check for f in wrong["3.16"]] == ["metrics.buckets"]
    assert [(f.message, f.expected, f.actual) for f in wrong["2.42"]] == \
        [(f.message, f.expected, f.actual) for f in wrong["3.16"]]


def test_a_python_service_looks_the_same_on_both(servers: dict[str, Running]) -> None:
    series = by_release(servers, '{__name__="lat_seconds_bucket", job="python"}')
    les = {v: sorted(s.labels["le"] for s in found) for v, found in series.items()}
    assert les["2.42"] == les["3.16"] == ["+Inf", "0.5", "1.0", "10.0"]  # prometheus_client writes "1.0"
    assert check_series(LAT, series["2.42"]) == check_series(LAT, series["3.16"]) == []


def test_quantiles_differ_in_text_but_labels_checks_agree(servers: dict[str, Running]) -> None:
    series = by_release(servers, '{__name__="rpc_seconds", job="go"}')
    quantiles = {v: sorted(s.labels["quantile"] for s in found) for v, found in series.items()}
    assert quantiles == {"2.42": ["0.5", "1"], "3.16": ["0.5", "1.0"]}
    spec = MetricSpec("rpc_seconds", "summary", labels=("quantile",))
    assert check_series(spec, series["2.42"]) == check_series(spec, series["3.16"]) == []


def test_a_rule_with_an_integer_bound_stops_firing_on_3_and_the_check_says_so(servers: dict[str, Running]) -> None:
    def firing(server: Running) -> set[str]:
        deadline = time.monotonic() + 10
        while True:
            names = {r["name"] for r in server.reader.rules() if r.get("state") == "firing"}
            if "PortableBound" in names or time.monotonic() > deadline:
                return names
            time.sleep(0.5)

    assert firing(servers["2.42"]) == {"IntegerBound", "PortableBound"}
    assert firing(servers["3.16"]) == {"PortableBound"}  # le="1" matches nothing in 3.x
    findings = check_bound_matchers(RULES, where="bounds.rules.yaml")  # pure: the same on either release
    assert [(f.where, f.actual, f.expected) for f in findings] == \
        [("bounds.rules.yaml rule IntegerBound", 'le="1"', 'le="1.0"')]


def test_a_missing_content_type_is_scraped_by_2_and_refused_by_3_with_the_fix(servers: dict[str, Running]) -> None:
    """Not the same verdict, on purpose: obsconf runs Prometheus 3 with its defaults, as users do, so a
    service that 3.x cannot scrape fails, with a message that says what to send."""
    assert servers["2.42"].reader.wait_for_target_up("no-content-type", timeout=5)["health"] == "up"
    with pytest.raises(ObsconfError) as caught:
        servers["3.16"].reader.wait_for_target_up("no-content-type", timeout=3)
    message = str(caught.value)
    assert "blank Content-Type" in message and "text/plain; version=0.0.4" in message, message


def test_a_utf8_metric_name_is_scraped_by_3_and_breaks_the_whole_target_on_2(servers: dict[str, Running]) -> None:
    found = servers["3.16"].reader.wait_for('{"http.server.active_requests", job="utf8"}', timeout=10)
    assert [s.points[-1][1] for s in found] == [2.0]
    with pytest.raises(ObsconfError) as caught:
        servers["2.42"].reader.wait_for_target_up("utf8", timeout=3)
    assert "UTF-8 metric names" in str(caught.value) and "OBSCONF_PROMETHEUS_VERSION" in str(caught.value)
