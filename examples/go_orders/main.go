// Command go_orders is a small order service: net/http with OpenTelemetry (otelhttp, OTLP/HTTP export),
// Prometheus metrics (client_golang) and slog JSON logs on stdout and, with LOKI_PUSH_URL, in Loki.
//
// Run: go_orders --port 8002 (binds 127.0.0.1; SIGTERM drains requests and flushes spans and logs).
// Environment: the OTEL_* variables, LOKI_PUSH_URL, OTEL_SDK_DISABLED=true (all telemetry off), and
// ORDERS_BUG=wrong-label (the request counter labelled with the raw path instead of the route).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go_orders:", err)
		os.Exit(1)
	}
}

func run() error {
	defaultPort, _ := strconv.Atoi(os.Getenv("PORT"))
	if defaultPort == 0 {
		defaultPort = 8002
	}
	port := flag.Int("port", defaultPort, "TCP port on 127.0.0.1")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	off := telemetryDisabled()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg, os.Getenv("ORDERS_BUG") == "wrong-label")

	out := &lineWriter{out: os.Stdout}
	if url := os.Getenv("LOKI_PUSH_URL"); url != "" && !off {
		name := os.Getenv("OTEL_SERVICE_NAME")
		if name == "" {
			name = "orders"
		}
		out.loki = newLokiShipper(url, map[string]string{"service_name": name}, m.logsDropped)
	}
	log := newLogger(out)

	shutdownTracing, err := setupTracing(ctx)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}

	s := &server{log: log, m: m, metricsOff: off, orders: map[string]order{}}
	mux := http.NewServeMux()
	mux.Handle(s.route("GET /healthz", s.healthz))
	mux.Handle(s.route("POST /orders", s.createOrder))
	mux.Handle(s.route("GET /orders/{id}", s.getOrder))
	mux.Handle(s.route("GET /orders/{id}/invoice", s.invoice))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	// otelhttp names the server span "{method} {route}" once the mux matched a pattern; scrapes and
	// health checks are not traced.
	handler := otelhttp.NewHandler(mux, "orders", otelhttp.WithFilter(func(r *http.Request) bool {
		return r.URL.Path != "/metrics" && r.URL.Path != "/healthz"
	}))
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	log.Info("orders started", "address", listener.Addr().String())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("orders stopping")
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown", "error", err.Error())
	}
	if err := shutdownTracing(drain); err != nil {
		log.Error("flushing spans failed", "error", err.Error())
	}
	log.Info("orders stopped")
	out.mu.Lock()
	shipper := out.loki
	out.loki = nil
	out.mu.Unlock()
	if shipper != nil {
		shipper.Close(drain)
	}
	return nil
}
