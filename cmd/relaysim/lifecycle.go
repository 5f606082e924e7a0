package main

import (
	"context"
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/consensus"
)

// maxConns is the most -conns allows: each connection costs two
// descriptors (both ends live in this process), so 9000 stays within a
// 20,000-descriptor limit with room for listeners and controllers.
const maxConns = 9000

// How the held connections divide up, in hundredths of -conns; with the
// controllers and what is opening or closing, they come to about -conns.
const (
	shareClients  = 60 // clients' first hops, 'IRt' (some still 'iRt')
	shareRelayIn  = 10 // peer relays connecting in, 'IRT'
	shareRelayOut = 15 // our connections to peer relays, 'ORT' (some 'oRt')
	shareDir      = 2  // directory requests in progress, 'IDt'
	shareExits    = 12 // the most exit streams, 'ORt', opened by circuits
)

// originCircuits is how many circuits of its own the relay keeps open, as
// tor's reachability and bandwidth tests do: their legs are the only ones
// the public tier shows.
const originCircuits = 3

const (
	numPeers   = 8
	writeLimit = 10 * time.Second
	// unlistedEvery: one inbound relay connection in this many comes from a
	// peer claiming a fingerprint that the simulated consensus does not
	// list, as a bridge, a new relay or an impostor would.
	unlistedEvery = 5
)

// unlistedFingerprint is what such a peer claims.
var unlistedFingerprint = connstate.Fingerprint(sha1.Sum([]byte("relaysim unlisted peer")))

type linkKind int

const (
	kindClient linkKind = iota
	kindRelayIn
	kindRelayOut
	kindExit
	kindDir
)

// simulation is the relay: its listeners, its peers and its links.
type simulation struct {
	reg    *connstate.Registry
	target int

	orL, dirL, destL, stallL net.Listener
	peers                    []peer

	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	rng    *rand.Rand
	links  map[*link]struct{}
	counts map[linkKind]int // registered links by kind
	// pending holds inbound connections dialed by a simulated peer and not
	// yet registered by our end, by the peer's address, with the kind they
	// will be: the churn counts them, so it never overshoots its target.
	pending map[string]linkKind
	nextID  uint32 // circuit IDs on outbound links
	// ready holds the established outbound relay links, for circuits to
	// pick from without scanning every link.
	ready    []*link
	own      int // origin circuits open
	relayIns int // inbound relay connections dialled, to pick the unlisted ones
}

func listen() (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(loopback.String(), "0"))
}

func newSimulation(reg *connstate.Registry, target int) (*simulation, error) {
	s := &simulation{
		reg:     reg,
		target:  target,
		done:    make(chan struct{}),
		rng:     rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
		links:   map[*link]struct{}{},
		counts:  map[linkKind]int{},
		pending: map[string]linkKind{},
	}
	var err error
	for _, l := range []*net.Listener{&s.orL, &s.dirL, &s.destL, &s.stallL} {
		if *l, err = listen(); err != nil {
			s.close()
			return nil, err
		}
	}
	for i := range numPeers {
		l, err := listen()
		if err != nil {
			s.close()
			return nil, err
		}
		s.peers = append(s.peers, peer{l: l, fp: sha1.Sum(fmt.Appendf(nil, "relaysim peer %d", i))})
	}
	return s, nil
}

func (s *simulation) orAddr() net.Addr { return s.orL.Addr() }

func (s *simulation) dirAddr() net.Addr { return s.dirL.Addr() }

// go runs f on a goroutine that close waits for.
func (s *simulation) goroutine(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// run starts the listeners' servers and keeps the connection mix near the
// target until ctx ends.
func (s *simulation) run(ctx context.Context) {
	s.goroutine(func() { s.acceptLoop(s.orL, s.serveORPort) })
	s.goroutine(func() { s.acceptLoop(s.dirL, s.serveDirPort) })
	s.goroutine(func() { s.acceptLoop(s.destL, serveEcho) })
	s.goroutine(func() { s.acceptLoop(s.stallL, s.serveStalled) })
	for _, p := range s.peers {
		s.goroutine(func() { s.acceptLoop(p.l, func(c net.Conn) { s.servePeer(c, p.fp) }) })
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		s.churn()
		select {
		case <-ctx.Done():
			s.close()
			return
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}

// listing is the simulated consensus: the peer relays, each at the
// address and port it listens on, its ORPort. Inbound connections from a
// peer come from the same address, so the public tier shows them at the
// listed ORPort; a peer claiming unlistedFingerprint is in no listing.
func (s *simulation) listing() *consensus.Consensus {
	c := &consensus.Consensus{}
	for i, p := range s.peers {
		ap := p.l.Addr().(*net.TCPAddr).AddrPort()
		c.Routers = append(c.Routers, consensus.RouterStatus{
			Nickname: fmt.Sprintf("simpeer%d", i), Identity: p.fp,
			Addr: ap.Addr().Unmap(), ORPort: ap.Port(), Flags: []string{"Fast", "Running", "Valid"},
		})
	}
	c.Routers = append(c.Routers, s.self())
	return c
}

// close stops everything and waits for every goroutine.
func (s *simulation) close() {
	s.once.Do(func() {
		close(s.done)
		for _, l := range []net.Listener{s.orL, s.dirL, s.destL, s.stallL} {
			if l != nil {
				l.Close()
			}
		}
		for _, p := range s.peers {
			p.l.Close()
		}
		s.mu.Lock()
		links := make([]*link, 0, len(s.links))
		for l := range s.links {
			links = append(links, l)
		}
		s.mu.Unlock()
		for _, l := range links {
			s.closeLink(l)
		}
	})
	s.wg.Wait()
}

func (s *simulation) stopping() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *simulation) acceptLoop(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.goroutine(func() { serve(c) })
	}
}

// sleep waits d, or less if the simulation stops; false if it stopped.
func (s *simulation) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// jitter returns a random duration in [lo, hi).
func (s *simulation) jitter(lo, hi time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

func (s *simulation) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func (s *simulation) chance(percent int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(100) < percent
}

// churn keeps each kind of connection near its share of the target,
// opening what is missing and closing a few at random, so that uptimes
// vary and closed connections' bytes land in the totals.
func (s *simulation) churn() {
	var victims []*link
	counts := map[linkKind]int{}
	s.mu.Lock()
	for l := range s.links {
		switch {
		case l.stalled && s.rng.IntN(20) == 0:
			victims = append(victims, l) // give up on a peer that never answered
		case l.kind == kindClient && !l.rc.Flags().Established && s.rng.IntN(30) == 0:
			victims = append(victims, l) // a client stuck in its handshake times out
		case (l.kind == kindClient || l.kind == kindRelayOut) && s.rng.IntN(200) == 0:
			victims = append(victims, l)
		}
	}
	for k, n := range s.counts {
		counts[k] = n
	}
	for _, k := range s.pending {
		counts[k]++
	}
	s.mu.Unlock()
	for _, l := range victims {
		s.closeLink(l)
	}

	// At most this many new connections per kind per round, so that a big
	// target fills in a few seconds without a burst of thousands of dials.
	const batch = 400
	want := func(kind linkKind, share int) int {
		return min(max(s.target*share/100-counts[kind], 0), batch)
	}
	for range want(kindClient, shareClients) {
		if c, ok := s.dialIn(s.orL, kindClient); ok {
			stuck := s.chance(8)
			s.goroutine(func() { s.client(c, nil, stuck) })
		}
	}
	for range want(kindRelayIn, shareRelayIn) {
		if c, ok := s.dialIn(s.orL, kindRelayIn); ok {
			s.mu.Lock()
			fp := s.peers[s.rng.IntN(len(s.peers))].fp
			if s.relayIns++; s.relayIns%unlistedEvery == 1 {
				fp = unlistedFingerprint
			}
			s.mu.Unlock()
			s.goroutine(func() { s.client(c, &fp, false) })
		}
	}
	s.mu.Lock()
	missing := originCircuits - s.own
	s.mu.Unlock()
	for range missing {
		s.buildOwn()
	}
	for i := range want(kindRelayOut, shareRelayOut) {
		stalled := i == 0 && s.chance(30)
		addr := s.stallL.Addr().String()
		if !stalled {
			s.mu.Lock()
			addr = s.peers[s.rng.IntN(len(s.peers))].l.Addr().String()
			s.mu.Unlock()
		}
		s.dialRelay(addr, stalled)
	}
	for range want(kindDir, shareDir) {
		if s.chance(50) {
			if c, ok := s.dialIn(s.dirL, kindDir); ok {
				s.goroutine(func() { s.dirRequest(c) })
			}
		}
	}
}
