package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var tracer = otel.Tracer("example.com/go_orders")

type order struct {
	ID            string `json:"order_id"`
	Item          string `json:"item"`
	Quantity      int    `json:"quantity"`
	PaymentMethod string `json:"payment_method"`
	CreatedAt     string `json:"created_at"`
}

type orderRequest struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Payment  struct {
		Method    string `json:"method"`
		CardToken string `json:"card_token"`
	} `json:"payment"`
}

type metrics struct {
	requests       *prometheus.CounterVec   // handler, method, code
	requestsByPath *prometheus.CounterVec   // ORDERS_BUG=wrong-label: path, method, code
	duration       *prometheus.HistogramVec // handler, method, code
	created        *prometheus.CounterVec   // payment_method
	stored         prometheus.Gauge
	logsDropped    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, wrongLabel bool) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_http_requests_total", Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orders_http_request_duration_seconds", Help: "Time to serve an HTTP request.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "method", "code"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_created_total", Help: "Orders created, by payment method.",
		}, []string{"payment_method"}),
		stored: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orders_stored", Help: "Orders held in memory.",
		}),
		logsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_log_lines_dropped_total", Help: "Log lines that could not be shipped to Loki.",
		}),
	}
	if wrongLabel {
		// The bug: the raw URL path as a label (unbounded cardinality) instead of the route pattern.
		m.requestsByPath = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_http_requests_total", Help: "HTTP requests served, by path, method and status code.",
		}, []string{"path", "method", "code"})
		reg.MustRegister(m.requestsByPath)
	} else {
		reg.MustRegister(m.requests)
	}
	reg.MustRegister(m.duration, m.created, m.stored, m.logsDropped)
	for _, method := range []string{"card", "invoice"} {
		m.created.WithLabelValues(method)
	}
	return m
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// route wraps the handler of one route pattern ("POST /orders"): the server span gets http.route, and
// the request is counted and timed with the route (never the raw path) as the handler label.
func (s *server) route(pattern string, h http.HandlerFunc) (string, http.Handler) {
	path := pattern[strings.Index(pattern, " ")+1:]
	tagged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("http.route", path))
		h(w, r)
	})
	if s.metricsOff {
		return pattern, tagged
	}
	labels := prometheus.Labels{"handler": path}
	timed := promhttp.InstrumentHandlerDuration(s.m.duration.MustCurryWith(labels), tagged)
	if s.m.requestsByPath != nil {
		return pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			timed.ServeHTTP(rec, r)
			s.m.requestsByPath.WithLabelValues(r.URL.Path, strings.ToLower(r.Method), strconv.Itoa(rec.status)).Inc()
		})
	}
	return pattern, promhttp.InstrumentHandlerCounter(s.m.requests.MustCurryWith(labels), timed)
}

type server struct {
	log        *slog.Logger
	m          *metrics
	metricsOff bool
	mu         sync.Mutex
	orders     map[string]order
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newOrderID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "ord-" + hex.EncodeToString(b)
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) createOrder(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req orderRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Item == "" || req.Quantity < 1 {
		s.log.InfoContext(ctx, "order rejected", "reason", "invalid body")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "item and a quantity >= 1 are required"})
		return
	}
	ctx, span := tracer.Start(ctx, "create_order")
	defer span.End()
	o := order{ID: newOrderID(), Item: req.Item, Quantity: req.Quantity, PaymentMethod: req.Payment.Method,
		CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	span.SetAttributes(attribute.String("orders.order_id", o.ID), attribute.String("orders.item", o.Item),
		attribute.Int("orders.quantity", o.Quantity), attribute.String("orders.payment_method", o.PaymentMethod))
	if err := s.authorize(r.WithContext(ctx), req); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		s.log.WarnContext(ctx, "payment declined", "order_id", o.ID, "reason", err.Error())
		writeJSON(w, http.StatusPaymentRequired, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	s.orders[o.ID] = o
	stored := len(s.orders)
	s.mu.Unlock()
	if !s.metricsOff {
		s.m.created.WithLabelValues(o.PaymentMethod).Inc()
		s.m.stored.Set(float64(stored))
	}
	s.log.InfoContext(ctx, "order created", "order_id", o.ID, "item", o.Item, "quantity", o.Quantity,
		"payment_method", o.PaymentMethod)
	writeJSON(w, http.StatusCreated, o)
}

type declined string

func (d declined) Error() string { return string(d) }

// authorize stands for the call to a payment provider: card payments need a token, invoices a known item.
func (s *server) authorize(r *http.Request, req orderRequest) error {
	_, span := tracer.Start(r.Context(), "authorize_payment")
	defer span.End()
	span.SetAttributes(attribute.String("payment.method", req.Payment.Method))
	switch req.Payment.Method {
	case "card":
		if req.Payment.CardToken == "" {
			return declined("card payment without a card token")
		}
	case "invoice":
	default:
		return declined("unknown payment method " + strconv.Quote(req.Payment.Method))
	}
	span.SetAttributes(attribute.Bool("payment.authorized", true))
	return nil
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	o, ok := s.orders[id]
	s.mu.Unlock()
	if !ok {
		s.log.InfoContext(r.Context(), "order not found", "order_id", id)
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no order " + id})
		return
	}
	s.log.InfoContext(r.Context(), "order looked up", "order_id", id)
	writeJSON(w, http.StatusOK, o)
}

// invoice is not wired to a renderer in this service: a configuration error, answered with 500.
func (s *server) invoice(w http.ResponseWriter, r *http.Request) {
	s.log.ErrorContext(r.Context(), "invoice renderer is not configured", "order_id", r.PathValue("id"))
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "invoices are unavailable"})
}
