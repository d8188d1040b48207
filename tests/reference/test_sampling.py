"""Sampling rules: head decisions, tail keeping of errors and slow requests, on the real SDK."""

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from obsconf.reference.sampling import (
    BASE,
    CRITICAL,
    DEFERRED,
    SAMPLED_PARENT,
    IntelligentSampler,
    TailKeepProcessor,
    head_decision,
    is_critical,
    ratio_keeps,
    tail_keep,
)

CRIT = ("/api/chat", "/api/agents", "/api/memory")
LOW_ID = 1  # lower 64 bits tiny: kept by any positive rate
HIGH_ID = (1 << 64) - 1  # lower 64 bits maximal: dropped by any rate < 1


def test_critical_paths_match_prefixes_only():
    assert is_critical("/api/chat", CRIT) and is_critical("/api/chat/stream", CRIT)
    assert not is_critical("/api/chatter", CRIT) and not is_critical("/api/ok", CRIT)


def test_ratio_is_deterministic_per_trace_id():
    assert ratio_keeps(LOW_ID, 0.01) and not ratio_keeps(HIGH_ID, 0.01)
    assert ratio_keeps(HIGH_ID, 1.0) and not ratio_keeps(LOW_ID, 0.0)


def test_head_decisions():
    assert head_decision("/api/ok", HIGH_ID, 0.01, CRIT, parent_sampled=True) == SAMPLED_PARENT
    assert head_decision("/api/chat", HIGH_ID, 0.01, CRIT) == CRITICAL
    assert head_decision("/api/ok", LOW_ID, 0.01, CRIT) == BASE
    assert head_decision("/api/ok", HIGH_ID, 0.01, CRIT) == DEFERRED


def test_tail_rule():
    assert tail_keep(True, 0.001, 0.25)
    assert tail_keep(False, 0.3, 0.25)
    assert not tail_keep(False, 0.1, 0.25)
    assert not tail_keep(False, 10.0, 0.0)  # slow rule off


def _pipeline(slow=0.25):
    exporter = InMemorySpanExporter()
    tail = TailKeepProcessor(SimpleSpanProcessor(exporter), slow_seconds=slow)
    provider = TracerProvider(sampler=IntelligentSampler(0.0, CRIT))
    provider.add_span_processor(tail)
    return provider.get_tracer("t"), exporter, tail


def _request(tracer, path, error=False):
    with tracer.start_as_current_span(f"GET {path}", kind=SpanKind.SERVER, attributes={"url.path": path}):
        with tracer.start_as_current_span("child") as child:
            if error:
                child.set_status(Status(StatusCode.ERROR, "boom"))


def test_unremarkable_trace_is_dropped():
    tracer, exporter, tail = _pipeline()
    _request(tracer, "/api/ok")
    assert exporter.get_finished_spans() == () and tail.dropped == 1


def test_error_trace_is_kept_whole_and_marked_sampled():
    tracer, exporter, tail = _pipeline()
    _request(tracer, "/api/ok", error=True)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["GET /api/ok", "child"]
    assert all(s.context.trace_flags.sampled for s in spans)
    assert len({s.context.trace_id for s in spans}) == 1 and tail.kept == 1


def test_slow_trace_is_kept():
    tracer, exporter, _ = _pipeline(slow=1e-9)
    _request(tracer, "/api/ok")
    assert len(exporter.get_finished_spans()) == 2


def test_critical_path_is_sampled_at_head():
    tracer, exporter, tail = _pipeline()
    _request(tracer, "/api/chat")
    assert len(exporter.get_finished_spans()) == 2 and tail.kept == 0


def test_pending_traces_are_bounded():
    exporter = InMemorySpanExporter()
    tail = TailKeepProcessor(SimpleSpanProcessor(exporter), slow_seconds=0, max_pending_traces=2)
    provider = TracerProvider(sampler=IntelligentSampler(0.0))
    provider.add_span_processor(tail)
    tracer = provider.get_tracer("t")
    roots = [tracer.start_span(f"root{i}") for i in range(3)]
    from opentelemetry.trace import set_span_in_context

    for root in roots:  # children end while their roots are still open
        tracer.start_span("child", context=set_span_in_context(root)).end()
    assert tail.evicted == 1
