package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/metrics"
)

// defaultMetricsPolicy admits loopback clients only, as tor's
// MetricsPortPolicy does when it is not set.
const defaultMetricsPolicy = "127.0.0.0/8,::1/128"

// parseMetricsPolicy reads -metrics-policy: networks, comma-separated.
// An IPv4 network must be written as one: a client's address is compared
// unmapped, so ::ffff:127.0.0.0/104 would match nothing.
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
		if prefix.Addr().Is4In6() {
			return nil, fmt.Errorf("-metrics-policy %q: an IPv4-mapped network; write it as IPv4", p)
		}
		out = append(out, prefix.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("-metrics-policy: no network")
	}
	return out, nil
}

// metricsServer serves a relay's metrics at /metrics to the clients its
// policy admits; it closes the others' connections as it accepts them,
// unread and unanswered, as nothing of theirs should cost the relay more.
type metricsServer struct {
	l   net.Listener
	srv *http.Server
}

// The metrics server's bounds: a scrape of 100,000 connections in the
// test-network tier takes about 0.2 s on this machine.
const (
	metricsTimeout  = 30 * time.Second // to read a request, to write a reply
	metricsIdle     = 2 * time.Minute  // a kept-alive connection between scrapes
	metricsInFlight = 4                // scrapes at once; more get 503
)

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
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: metricsInFlight}))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	s := &metricsServer{l: l, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: metricsTimeout,
		ReadTimeout:       metricsTimeout,
		WriteTimeout:      metricsTimeout,
		IdleTimeout:       metricsIdle,
		MaxHeaderBytes:    8 << 10,
	}}
	go s.srv.Serve(policyListener{l, allow})
	return s, nil
}

// policyListener accepts only the connections of admitted clients.
type policyListener struct {
	net.Listener
	allow []netip.Prefix
}

// Accept returns the next admitted client's connection, closing the
// others'.
func (l policyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if admitted(c.RemoteAddr(), l.allow) {
			return c, nil
		}
		c.Close()
	}
}

// admitted reports whether a client's address is in one of the networks.
func admitted(remote net.Addr, allow []netip.Prefix) bool {
	tcp, ok := remote.(*net.TCPAddr)
	if !ok {
		return false
	}
	a := tcp.AddrPort().Addr().Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// port is the port the server listens on.
func (s *metricsServer) port() uint16 { return uint16(s.l.Addr().(*net.TCPAddr).Port) }

// close stops the server.
func (s *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// withoutMetricsClients returns sockets without those the metrics server
// accepted on port (0: none), which are no connections of the relay's.
func withoutMetricsClients(sockets []audit.Socket, port uint16) []audit.Socket {
	if port == 0 {
		return sockets
	}
	return slices.DeleteFunc(sockets, func(s audit.Socket) bool { return s.Local.Port() == port })
}
