package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// telemetryDisabled reads OTEL_SDK_DISABLED, the specification's off switch. The Go SDK does not read it
// (opentelemetry-go issue 3559), so the service does: with "true" it installs no tracer provider, no
// request metrics and no Loki shipping, so an A/B run compares against no telemetry at all.
func telemetryDisabled() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true")
}

// setupTracing installs a tracer provider configured from the standard variables: the resource from
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the exporter from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
// the sampler from OTEL_TRACES_SAMPLER(_ARG), the batch delay from OTEL_BSP_SCHEDULE_DELAY.
func setupTracing(ctx context.Context) (func(context.Context) error, error) {
	// The global propagator is a no-op until set: without this, incoming traceparent headers are ignored.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if telemetryDisabled() {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	otel.SetTracerProvider(provider)
	return provider.Shutdown, nil
}

// traceHandler adds trace_id and span_id of the span in the record's context to every JSON line.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// newLogger writes JSON lines {timestamp, level, message, ...} to every writer given (stdout, Loki).
func newLogger(w *lineWriter) *slog.Logger {
	json := slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 {
				switch a.Key {
				case slog.TimeKey:
					a.Key = "timestamp"
				case slog.MessageKey:
					a.Key = "message"
				}
			}
			return a
		},
	})
	return slog.New(traceHandler{json})
}
