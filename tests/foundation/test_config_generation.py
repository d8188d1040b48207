from __future__ import annotations

import json
import re

import yaml

from obsconf.stack.jaeger import JaegerPorts, jaeger_config
from obsconf.stack.prometheus import prometheus_config, target_file_content


def test_jaeger_config_binds_every_listener_to_loopback() -> None:
    text = jaeger_config(JaegerPorts(4317, 4318, 16686, 16685, 13133))
    config = yaml.safe_load(text)
    endpoints = re.findall(r'endpoint: "([^"]+)"', text)
    assert len(endpoints) == 5
    assert all(e.startswith("127.0.0.1:") for e in endpoints)
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "127.0.0.1:4318"
    assert config["extensions"]["jaeger_query"]["http"]["endpoint"] == "127.0.0.1:16686"
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    # internal telemetry would listen on a fixed port (8888) that clashes between sessions
    assert config["service"]["telemetry"]["metrics"]["level"] == "none"


def test_prometheus_config_discovers_targets_from_files() -> None:
    config = yaml.safe_load(prometheus_config("/t", "/r", scrape_interval="1s"))
    job = config["scrape_configs"][0]
    assert job["file_sd_configs"][0]["files"] == ["/t/*.json"]
    assert config["rule_files"] == ["/r/*.yaml"]
    assert config["global"]["scrape_interval"] == "1s"


def test_target_file_sets_job_and_metrics_path() -> None:
    content = json.loads(target_file_content("sync-daemon", "127.0.0.1:9100", "/v1/observability/metrics"))
    assert content == [{"targets": ["127.0.0.1:9100"],
                        "labels": {"job": "sync-daemon", "__metrics_path__": "/v1/observability/metrics"}}]
