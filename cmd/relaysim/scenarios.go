package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// The scenarios of -scenario: each adds one anomaly to the simulation, for
// package audit's detectors to find and for a newcomer to see.
const (
	scenarioNone           = "none"
	scenarioAsymmetric     = "asymmetric"
	scenarioUnestablished  = "unestablished"
	scenarioPrivateExit    = "private-exit"
	scenarioConcentration  = "concentration"
	scenarioNonExitStreams = "non-exit-streams"
	scenarioResets         = "resets"
	scenarioHidden         = "hidden"
)

var scenarios = []string{scenarioNone, scenarioAsymmetric, scenarioUnestablished, scenarioPrivateExit,
	scenarioConcentration, scenarioNonExitStreams, scenarioResets, scenarioHidden}

func validScenario(s string) error {
	if slices.Contains(scenarios, s) {
		return nil
	}
	return fmt.Errorf("-scenario %q: want one of %s", s, strings.Join(scenarios, ", "))
}

// How big each anomaly is.
const (
	asymmetricChunk   = 1 << 20 // a second, one way only
	unestablishedOpen = 4       // streams that never connect
	concentrationOpen = 20      // connections to one peer
	resetsEvery       = 100 * time.Millisecond
	resetsLife        = 1500 * time.Millisecond
	hiddenOpen        = 12 // connections never registered, over verify's tolerance in the public tier too
)

// runScenario starts the anomaly's goroutines; close stops them.
func (s *simulation) runScenario(name string) {
	switch name {
	case scenarioAsymmetric:
		s.goroutine(s.asymmetric)
	case scenarioUnestablished:
		s.goroutine(func() { s.hold(unestablishedOpen, s.far.stall, connstate.Outbound, connstate.UsageRelay, false, nil) })
	case scenarioConcentration:
		fp := peerFingerprint(0)
		s.goroutine(func() { s.hold(concentrationOpen, s.far.peers[0], connstate.Outbound, connstate.UsageRelay, true, &fp) })
	case scenarioResets:
		s.goroutine(s.resets)
	case scenarioHidden:
		s.goroutine(s.hidden)
	}
	// private-exit and non-exit-streams change what the relay says of its
	// policy (setup.options), not what it does.
}

// dialScenario dials a far end's listener for a scenario; the connection
// closes when the simulation does.
func (s *simulation) dialScenario(addr netip.AddrPort) (net.Conn, bool) {
	nc, err := dialer.Dial("tcp", addr.String())
	if err != nil {
		return nil, false
	}
	s.goroutine(func() {
		<-s.done
		nc.Close()
	})
	return nc, true
}

// hold opens n connections to addr and registers them as dir and usage,
// established or not, to a relay fp if given, and holds them open.
func (s *simulation) hold(n int, addr netip.AddrPort, dir connstate.Direction, usage connstate.Usage, established bool, fp *connstate.Fingerprint) {
	for range n {
		nc, ok := s.dialScenario(addr)
		if !ok {
			return
		}
		cfg := connstate.ConfigFor(nc, dir, usage)
		cfg.Established = established
		if fp != nil {
			cfg.Network, cfg.Fingerprint = connstate.NetworkTor, *fp
		}
		rc, err := s.reg.Open(cfg)
		if err != nil {
			return
		}
		s.goroutine(func() {
			<-s.done
			rc.Close()
		})
	}
}

// asymmetric carries one circuit whose inbound side moves a MiB a second
// towards a client while nothing comes from its exit.
func (s *simulation) asymmetric() {
	pair := func(usage connstate.Usage, dir connstate.Direction) (net.Conn, *connstate.Conn, bool) {
		nc, ok := s.dialScenario(s.far.stall)
		if !ok {
			return nil, nil, false
		}
		cfg := connstate.ConfigFor(nc, dir, usage)
		cfg.Established = true
		rc, err := s.reg.Open(cfg)
		if err != nil {
			return nil, nil, false
		}
		return connstate.CountingConn(nc, rc), rc, true
	}
	in, inRC, ok1 := pair(connstate.UsageClient, connstate.Inbound)
	_, outRC, ok2 := pair(connstate.UsageRelay, connstate.Outbound)
	if !ok1 || !ok2 {
		return
	}
	defer inRC.Close()
	defer outRC.Close()
	circ, err := s.reg.OpenCircuit(connstate.CircuitConfig{})
	if err != nil {
		return
	}
	defer circ.Close()
	inLeg, err1 := circ.BindInbound(inRC)
	_, err2 := circ.BindExit(outRC)
	if err1 != nil || err2 != nil {
		return
	}
	chunk := make([]byte, asymmetricChunk)
	for s.sleep(time.Second) {
		// The stall listener reads and discards: the bytes really move.
		n, err := in.Write(chunk)
		inLeg.AddWritten(uint64(n))
		if err != nil {
			return
		}
	}
}

// resets opens an inbound connection and closes it within a fraction of a
// second, again and again, as a middlebox resetting connections would.
func (s *simulation) resets() {
	for s.sleep(resetsEvery) {
		nc, err := dialer.Dial("tcp", s.far.stall.String())
		if err != nil {
			continue
		}
		cfg := connstate.ConfigFor(nc, connstate.Inbound, connstate.UsageClient)
		cfg.Established = true
		rc, err := s.reg.Open(cfg)
		if err != nil {
			nc.Close()
			continue
		}
		// Long enough for a controller polling each second to see it,
		// short of the audit's five seconds.
		s.goroutine(func() {
			s.sleep(resetsLife)
			rc.Close()
			nc.Close()
		})
	}
}

// hidden holds sockets of the process that the registry never hears of.
func (s *simulation) hidden() {
	for range hiddenOpen {
		nc, ok := s.dialScenario(s.far.dest)
		if !ok {
			return
		}
		s.goroutine(func() { io.Copy(io.Discard, nc) })
	}
}
