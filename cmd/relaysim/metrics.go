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
	"sync"
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
	l   *policyListener
	srv *http.Server
}

// The metrics server's bounds: a scrape of 100,000 connections in the
// test-network tier takes about 0.2 s on this machine.
const (
	metricsTimeout  = 30 * time.Second // to read a request, to write a reply
	metricsIdle     = 2 * time.Minute  // a kept-alive connection between scrapes
	metricsInFlight = 4                // scrapes at once; more get 503
	metricsConns    = 16               // connections open at once; more are closed at once
)

// newMetricsServer listens on addr, to serve cfg's collector on a
// Prometheus registry of its own once serve is called.
func newMetricsServer(addr string, allow []netip.Prefix, cfg metrics.Config) (*metricsServer, error) {
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
	return &metricsServer{
		l: &policyListener{Listener: l, allow: allow, open: map[socketKey]bool{}},
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: metricsTimeout,
			ReadTimeout:       metricsTimeout,
			WriteTimeout:      metricsTimeout,
			IdleTimeout:       metricsIdle,
			MaxHeaderBytes:    8 << 10,
		},
	}, nil
}

// serve serves until close.
func (s *metricsServer) serve() { go s.srv.Serve(s.l) }

// socketKey is a TCP connection by its two ends, unmapped.
type socketKey struct{ local, remote netip.AddrPort }

func keyOf(local, remote netip.AddrPort) socketKey {
	unmap := func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
	return socketKey{unmap(local), unmap(remote)}
}

// policyListener accepts only the connections of admitted clients, at
// most metricsConns at once, and knows which they are.
type policyListener struct {
	net.Listener
	allow []netip.Prefix

	mu   sync.Mutex
	open map[socketKey]bool // the connections accepted and not yet closed
}

// Accept returns the next admitted client's connection, closing the
// others' and those past the bound.
func (l *policyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		local, okL := c.LocalAddr().(*net.TCPAddr)
		remote, okR := c.RemoteAddr().(*net.TCPAddr)
		if !okL || !okR || !admitted(remote, l.allow) {
			c.Close()
			continue
		}
		k := keyOf(local.AddrPort(), remote.AddrPort())
		l.mu.Lock()
		full := len(l.open) >= metricsConns
		if !full {
			l.open[k] = true
		}
		l.mu.Unlock()
		if full {
			c.Close()
			continue
		}
		return &servedConn{Conn: c, l: l, key: k}, nil
	}
}

// serves reports whether s is one of the connections the listener holds.
func (l *policyListener) serves(s audit.Socket) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[keyOf(s.Local, s.Remote)]
}

// servedConn is an accepted connection, forgotten by its listener once
// closed.
type servedConn struct {
	net.Conn
	l    *policyListener
	key  socketKey
	once sync.Once
}

func (c *servedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.open, c.key)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// admitted reports whether a client's address is in one of the networks.
func admitted(remote *net.TCPAddr, allow []netip.Prefix) bool {
	a := remote.AddrPort().Addr().Unmap()
	for _, p := range allow {
		if p.Contains(a) {
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

// withoutMetricsClients returns sockets without the metrics server's
// connections (ms nil: no server), which are not the relay's.
func withoutMetricsClients(sockets []audit.Socket, ms *metricsServer) []audit.Socket {
	if ms == nil {
		return sockets
	}
	return slices.DeleteFunc(sockets, ms.l.serves)
}
