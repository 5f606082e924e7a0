package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/metrics"
	"github.com/conninfo/conninfo/scrub"
	"github.com/conninfo/conninfo/verify"
)

// cachedConsensus answers ns/authority: the consensus of testdata, so that
// controllers see the real directory authorities.
//
//go:embed cached-consensus
var cachedConsensus string

// version is what relaysim reports: a tor version, as stem expects.
const version = "0.4.9.11 (conninfo-relaysim)"

type flags struct {
	control    string
	auth       string
	cookieFile string
	password   string
	conns      int
	duration   time.Duration
	fixture    string
	quiet      bool
	tier       scrub.Tier
	epoch      time.Duration
	scenario   string
	metrics    string
	allow      []netip.Prefix
	netns      bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var o flags
	fs := flag.NewFlagSet("relaysim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.control, "control", "127.0.0.1:9051", "control port `address` (port 0 picks a free one)")
	fs.StringVar(&o.auth, "auth", "cookie", "authentication `method`: cookie, password or null")
	fs.StringVar(&o.cookieFile, "cookie-file", "", "cookie file `path` (default: in a new temporary directory)")
	fs.StringVar(&o.password, "password", "", "the `secret` for -auth password")
	fs.IntVar(&o.conns, "conns", 200, "connections held open (up to 18000)")
	fs.DurationVar(&o.duration, "duration", 0, "run this long, then exit (0: until interrupted)")
	fs.StringVar(&o.fixture, "fixture", "", "serve this fixture `file`'s state instead of simulating")
	fs.BoolVar(&o.quiet, "quiet", false, "no live view")
	policy := fs.String("policy", "public", "privacy `tier` served: public, testnet or unscrubbed")
	fs.DurationVar(&o.epoch, "epoch", scrub.DefaultEpoch, "the public tier's epoch (whole seconds)")
	fs.StringVar(&o.scenario, "scenario", scenarioNone, "an anomaly to add, for the audit: "+strings.Join(scenarios, ", "))
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://`address`/metrics (port 0 picks a free one)")
	fs.BoolVar(&o.netns, "netns", false, "run the far ends in a network namespace of their own, behind a veth pair on 198.18.0.0/15 (Linux, root)")
	metricsPolicy := fs.String("metrics-policy", defaultMetricsPolicy, "the `networks` (comma-separated) whose clients -metrics serves")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	allow, err := parseMetricsPolicy(*metricsPolicy)
	if err != nil {
		return o, err
	}
	o.allow = allow
	tier, err := scrub.ParseTier(*policy)
	if err != nil {
		return o, fmt.Errorf("-policy: %w", err)
	}
	o.tier = tier
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.auth != "cookie" && o.auth != "password" && o.auth != "null":
		return o, fmt.Errorf("-auth %q: want cookie, password or null", o.auth)
	case o.auth == "password" && o.password == "":
		return o, errors.New("-auth password needs -password")
	case o.auth != "password" && o.password != "":
		return o, errors.New("-password needs -auth password")
	case o.auth != "cookie" && o.cookieFile != "":
		return o, errors.New("-cookie-file needs -auth cookie")
	case o.conns < 0 || o.conns > maxConns:
		return o, fmt.Errorf("-conns %d: want 0 to %d", o.conns, maxConns)
	case o.duration < 0:
		return o, fmt.Errorf("-duration %v: want 0 or more", o.duration)
	case o.epoch < time.Second || o.epoch%time.Second != 0:
		return o, fmt.Errorf("-epoch %v: want whole seconds, at least 1s", o.epoch)
	case validScenario(o.scenario) != nil:
		return o, validScenario(o.scenario)
	case o.fixture != "" && o.scenario != scenarioNone:
		return o, errors.New("-scenario needs the simulation, not -fixture")
	case o.fixture != "" && o.netns:
		return o, errors.New("-netns needs the simulation, not -fixture")
	}
	return o, nil
}

// run is the whole program, so that tests can run it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}

	var reg *connstate.Registry
	var sim *simulation
	var relays scrub.Relays // the consensus the public tier consults
	if o.fixture != "" {
		fx, err := connstatetest.ReadFile(o.fixture)
		if err != nil {
			return err
		}
		if reg, _, err = fx.Build(); err != nil {
			return fmt.Errorf("%s: %w", o.fixture, err)
		}
		relays = fx.Relays()
	} else {
		// Everything runs on loopback, which tor does not rate limit: count
		// it anyway, as a test network does, so that the totals move.
		reg = connstate.NewRegistry(connstate.CountPrivate())
		var ns *netns
		if o.netns {
			if ns, err = newNetns(); err != nil {
				return err
			}
		}
		if sim, err = newSimulation(reg, o.conns, ns); err != nil {
			return err // and ns is removed
		}
		defer sim.close()
		relays = sim.listing()
	}
	policy := tierPolicy(o.tier, relays, o.epoch)

	dir, err := os.MkdirTemp("", "relaysim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var metricsServed atomic.Pointer[metricsServer] // set before serving metrics
	var controlAddr atomic.Pointer[net.Addr]        // set once listening, before any controller asks
	st := setup{sim: sim, control: func() net.Addr { return *controlAddr.Load() }, configFile: filepath.Join(dir, "relaysim.torrc"), auth: o.auth, scenario: o.scenario}
	if o.auth == "password" {
		st.hash = protocol.HashPassword(o.password)
	}

	mux := getinfo.NewMux()
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: policy}
	conns.Register(mux)
	names, _ := relays.(getinfo.Nicknames)
	(&getinfo.Status{Conns: conns, Nicknames: names}).Register(mux)
	evCfg := events.Config{Conns: conns, Nicknames: names}
	metricsCfg := metrics.Config{Conns: conns}
	if sim != nil {
		// The relay's own audit, as audit/findings and CONNINFO_AUDIT.
		// The hidden detector reads relaysim's own sockets (the far
		// ends are in child processes). The metrics server's connections
		// are not the relay's: tor keeps them out of conn/all too.
		self := int32(os.Getpid())
		findings := &audit.Findings{Registry: reg, Conns: conns, Setup: st.auditSetup, Sockets: func() ([]audit.Socket, error) {
			s, err := verify.Sockets(context.Background(), self)
			return withoutMetricsClients(s, metricsServed.Load()), err
		}}
		findings.Register(mux)
		defer findings.Close()
		evCfg.Findings = findings.Lines
		metricsCfg.Findings = findings.Lines
	}
	pub, err := events.New(evCfg)
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.Register(mux)
	st.relay().Register(mux)
	proc := &getinfo.Process{Policy: policy}
	proc.Register(mux)
	auth, err := consensus.Parse(strings.NewReader(cachedConsensus))
	if err != nil {
		return fmt.Errorf("embedded consensus: %w", err)
	}
	(&getinfo.Authorities{Source: staticAuthorities{auth}}).Register(mux)
	if ns, ok := relays.(getinfo.NetworkStatusSource); ok {
		(&getinfo.NetworkStatus{Source: ns}).Register(mux)
	}
	(&getinfo.InfoNames{}).Register(mux)
	opts, err := st.options()
	if err != nil {
		return err
	}

	cfg := controlport.Config{Mux: mux, Version: version, Events: pub, Options: opts}
	if sim != nil {
		cfg.Registry = reg // the controllers' own connections show as IXt
	}
	switch o.auth {
	case "cookie":
		if o.cookieFile == "" {
			o.cookieFile = filepath.Join(dir, "control_auth_cookie")
		}
		cfg.CookieFile = o.cookieFile
	case "password":
		cfg.HashedPasswords = []string{st.hash}
	case "null":
		cfg.NullAuth = true
	}
	srv, err := controlport.New(cfg)
	if err != nil {
		return err
	}
	l, err := srv.Listen("tcp", o.control)
	if err != nil {
		return err
	}
	addr := l.Addr()
	controlAddr.Store(&addr)
	if err := writeConfigFile(st.configFile, opts); err != nil {
		l.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if o.metrics != "" {
		ms, err := newMetricsServer(o.metrics, o.allow, metricsCfg)
		if err != nil {
			srv.Close()
			return err
		}
		defer ms.close()
		metricsServed.Store(ms)
		ms.serve()
		fmt.Fprintf(stdout, "relaysim: metrics http://%s/metrics\n", ms.l.Addr())
	}

	fmt.Fprintf(stdout, "relaysim: control port %s\n", l.Addr())
	fmt.Fprintf(stdout, "relaysim: privacy tier %s\n", policy)
	switch o.auth {
	case "cookie":
		fmt.Fprintf(stdout, "relaysim: cookie file %s\n", srv.CookieFile())
	case "password":
		fmt.Fprintf(stdout, "relaysim: password authentication\n")
	case "null":
		fmt.Fprintf(stdout, "relaysim: no authentication (null)\n")
	}
	if sim != nil {
		fmt.Fprintf(stdout, "relaysim: ORPort %s, DirPort %s, holding %d connections\n", sim.orAddr(), sim.dirAddr(), o.conns)
		go sim.run(ctx)
		if o.scenario != scenarioNone {
			sim.runScenario(o.scenario)
			fmt.Fprintf(stdout, "relaysim: scenario %s\n", o.scenario)
		}
	} else {
		fmt.Fprintf(stdout, "relaysim: serving fixture %s\n", o.fixture)
	}

	if !o.quiet {
		go liveView(ctx, stdout, mux, policy, proc)
	}

	var serveErr error
	var farEnded <-chan struct{} // nil, never ready, without a simulation
	if sim != nil {
		farEnded = sim.far.ended
	}
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	case <-farEnded:
		serveErr = errors.New("the far ends' process ended")
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if serveErr == nil {
		serveErr = <-served
	}
	if sim != nil {
		sim.close()
	}
	fmt.Fprintln(stdout, "relaysim: stopped")
	if errors.Is(serveErr, controlport.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// tierPolicy is the scrub policy of a tier.
func tierPolicy(t scrub.Tier, relays scrub.Relays, epoch time.Duration) scrub.Policy {
	switch t {
	case scrub.TierTestNetwork:
		return scrub.TestNetwork()
	case scrub.TierUnscrubbed:
		return scrub.Unscrubbed()
	}
	p := scrub.Public(relays)
	p.Epoch = epoch
	return p
}

// bandwidth is the simulated relay's configuration.
var bandwidth = getinfo.Bandwidth{Rate: 5 << 20, Burst: 10 << 20, RelayRate: 2 << 20, RelayBurst: 4 << 20}

// staticAuthorities answers ns/authority from a parsed consensus.
type staticAuthorities struct{ c *consensus.Consensus }

func (s staticAuthorities) AppendAuthorities(dst []byte) ([]byte, error) {
	return s.c.AppendAuthorities(dst), nil
}

// loopback is where relaysim runs, unless -netns puts its relay on a veth
// link.
var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// errNetnsUnavailable is why -netns cannot run here: relaysim exits 2.
var errNetnsUnavailable = errors.New("-netns is not available")
