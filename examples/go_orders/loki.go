package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// lineWriter is the slog handler's output: each JSON line goes to stdout and, when shipping is on, to Loki.
// slog's JSON handler writes one whole line per Write call.
type lineWriter struct {
	mu   sync.Mutex
	out  io.Writer
	loki *lokiShipper // nil: stdout only
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.out.Write(p)
	if w.loki != nil {
		w.loki.enqueue(bytes.TrimRight(p, "\n"))
	}
	return n, err
}

type lokiEntry struct {
	ts   int64
	line string
}

// lokiShipper pushes log lines to a Loki push endpoint (JSON protocol) in batches, from one goroutine,
// so that a slow or absent Loki never blocks a request. Lines that cannot be queued or delivered are
// counted in orders_log_lines_dropped_total and never retried forever.
type lokiShipper struct {
	url     string
	labels  map[string]string
	lines   chan lokiEntry
	done    chan struct{}
	client  *http.Client
	dropped prometheus.Counter
}

const (
	lokiFlushEvery = 200 * time.Millisecond
	lokiBatchMax   = 500
	lokiAttempts   = 3
)

func newLokiShipper(url string, labels map[string]string, dropped prometheus.Counter) *lokiShipper {
	s := &lokiShipper{
		url:     url,
		labels:  labels,
		lines:   make(chan lokiEntry, 10000),
		done:    make(chan struct{}),
		client:  &http.Client{Timeout: 2 * time.Second},
		dropped: dropped,
	}
	go s.run()
	return s
}

func (s *lokiShipper) enqueue(line []byte) {
	select {
	case s.lines <- lokiEntry{time.Now().UnixNano(), string(line)}:
	default:
		s.dropped.Inc()
	}
}

func (s *lokiShipper) run() {
	defer close(s.done)
	ticker := time.NewTicker(lokiFlushEvery)
	defer ticker.Stop()
	var batch []lokiEntry
	for {
		select {
		case e, ok := <-s.lines:
			if !ok {
				s.push(batch)
				return
			}
			batch = append(batch, e)
			if len(batch) >= lokiBatchMax {
				s.push(batch)
				batch = nil
			}
		case <-ticker.C:
			s.push(batch)
			batch = nil
		}
	}
}

func (s *lokiShipper) push(batch []lokiEntry) {
	if len(batch) == 0 {
		return
	}
	values := make([][2]string, len(batch))
	for i, e := range batch {
		values[i] = [2]string{strconv.FormatInt(e.ts, 10), e.line}
	}
	body, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{"stream": s.labels, "values": values}}})
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.post(body)
		if err == nil {
			return
		}
		if attempt == lokiAttempts {
			// not through slog: this line would be shipped, and fail, again
			fmt.Fprintf(os.Stderr, "loki push failed after %d attempts, %d lines dropped: %v\n", attempt, len(batch), err)
			s.dropped.Add(float64(len(batch)))
			return
		}
		time.Sleep(delay)
		delay *= 2
	}
}

func (s *lokiShipper) post(body []byte) error {
	resp, err := s.client.Post(s.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", s.url, resp.Status)
	}
	return nil
}

// Close ships what is queued and stops the goroutine (or gives up when ctx ends).
func (s *lokiShipper) Close(ctx context.Context) {
	close(s.lines)
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}
