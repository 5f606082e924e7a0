package main

import (
	"context"
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/consensus"
)

// maxConns is the most -conns allows: relaysim's process holds one
// descriptor per connection (the far ends are in child processes), so
// 18,000 stays within a 20,000-descriptor limit with room for the
// listeners, the controllers and what is opening or closing.
const maxConns = 18000

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

	*pace // its done closes when the simulation stops

	host      netip.Addr // the relay's address: loopback, or its veth end
	ns        *netns     // -netns's namespace, or nil
	orL, dirL net.Listener
	far       *farEnds

	wg   sync.WaitGroup
	once sync.Once

	mu     sync.Mutex
	rng    *rand.Rand
	links  map[*link]struct{}
	counts map[linkKind]int // registered links by kind
	// pending counts the inbound connections asked of the far ends whose
	// dial has not yet been made, by kind: the churn counts them, so that
	// it does not overshoot its target.
	pending map[linkKind]int
	nextID  uint32 // circuit IDs on outbound links
	// ready holds the established outbound relay links, for circuits to
	// pick from without scanning every link.
	ready    []*link
	own      int // origin circuits open
	relayIns int // inbound relay connections dialled, to pick the unlisted ones
}

// listen opens a listener on a free port of host.
func listen(host netip.Addr) (net.Listener, error) {
	return net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
}

// newSimulation starts the relay's listeners and its far ends: on
// loopback, or with ns on its veth link, the far ends inside it.
func newSimulation(reg *connstate.Registry, target int, ns *netns) (*simulation, error) {
	s := &simulation{
		pace:    newPace(),
		reg:     reg,
		target:  target,
		host:    loopback,
		ns:      ns,
		rng:     rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
		links:   map[*link]struct{}{},
		counts:  map[linkKind]int{},
		pending: map[linkKind]int{},
	}
	far := loopback
	if ns != nil {
		s.host, far = ns.host, ns.far
	}
	var err error
	for _, l := range []*net.Listener{&s.orL, &s.dirL} {
		if *l, err = listen(s.host); err != nil {
			s.close()
			return nil, err
		}
	}
	if s.far, err = startFarEnds(target, s.orL.Addr().String(), s.dirL.Addr().String(), far, ns, s.dialed); err != nil {
		s.close()
		return nil, err
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
		case <-s.far.ended:
			s.close()
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
	for i, ap := range s.far.peers {
		c.Routers = append(c.Routers, consensus.RouterStatus{
			Nickname: fmt.Sprintf("simpeer%d", i), Identity: peerFingerprint(i),
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
		for _, l := range []net.Listener{s.orL, s.dirL} {
			if l != nil {
				l.Close()
			}
		}
		if s.far != nil {
			s.far.close()
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
		s.wg.Wait()
		// Only now: the far ends closed first, so the relay's ends wait
		// for their last ACK, which must still have a way back, or they
		// would linger in LAST-ACK for minutes.
		if s.ns != nil {
			if err := s.ns.remove(); err != nil {
				fmt.Fprintln(os.Stderr, "relaysim:", err)
			}
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
	for k, n := range s.pending {
		counts[k] += n
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
		s.dialIn(kindClient, clientCommand(s.chance(8)))
	}
	for range want(kindRelayIn, shareRelayIn) {
		s.mu.Lock()
		fp := peerFingerprint(s.rng.IntN(numPeers))
		if s.relayIns++; s.relayIns%unlistedEvery == 1 {
			fp = unlistedFingerprint
		}
		s.mu.Unlock()
		s.dialIn(kindRelayIn, relayCommand(fp))
	}
	s.mu.Lock()
	missing := originCircuits - s.own
	s.mu.Unlock()
	for range missing {
		s.buildOwn()
	}
	for i := range want(kindRelayOut, shareRelayOut) {
		stalled := i == 0 && s.chance(30)
		addr := s.far.stall
		if !stalled {
			s.mu.Lock()
			addr = s.far.peers[s.rng.IntN(len(s.far.peers))]
			s.mu.Unlock()
		}
		s.dialRelay(addr.String(), stalled)
	}
	for range want(kindDir, shareDir) {
		if s.chance(50) {
			s.dialIn(kindDir, dirCommand)
		}
	}
}

// dialIn asks the far ends for an inbound connection of kind, counted as
// pending until they say it is dialed.
func (s *simulation) dialIn(kind linkKind, command string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.far.dialLocked(command) == nil {
		s.pending[kind]++
	}
}

// dialed is told by the far ends that a dial of theirs is made or failed.
func (s *simulation) dialed(command string) {
	kind := map[string]linkKind{"client": kindClient, "relay": kindRelayIn, "dir": kindDir}[command]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[kind] > 0 {
		s.pending[kind]--
	}
}
