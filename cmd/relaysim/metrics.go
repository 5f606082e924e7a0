package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conninfo/conninfo/metrics"
)

// defaultMetricsPolicy admits loopback clients only, as tor's
// MetricsPortPolicy does when it is not set.
const defaultMetricsPolicy = "127.0.0.0/8,::1/128"

// parseMetricsPolicy reads -metrics-policy: networks, comma-separated.
func parseMetricsPolicy(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("-metrics-policy %q: %w", p, err)
		}
		out = append(out, prefix.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("-metrics-policy: no network")
	}
	return out, nil
}

// metricsServer serves a relay's metrics at /metrics, to the clients its
// policy admits (others get 403).
type metricsServer struct {
	l   net.Listener
	srv *http.Server
}

// serveMetrics listens on addr and serves cfg's collector on a
// Prometheus registry of its own.
func serveMetrics(addr string, allow []netip.Prefix, cfg metrics.Config) (*metricsServer, error) {
	col, err := metrics.New(cfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, err
	}
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if !admitted(r.RemoteAddr, allow) {
			http.Error(w, "not admitted by -metrics-policy", http.StatusForbidden)
			return
		}
		handler.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	s := &metricsServer{l: l, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(l)
	return s, nil
}

// admitted reports whether a client's address is in one of the networks.
func admitted(remote string, allow []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	for _, p := range allow {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// close stops the server.
func (s *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}
