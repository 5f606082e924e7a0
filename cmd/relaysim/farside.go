package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// The far sides of the relay's connections (its clients, its peer
// relays, the destinations of its exit streams) run in child processes,
// so that the relay's process holds only its own ends, as a real relay's
// does. A child is relaysim itself, started with farSideEnv set, told
// what to dial on its standard input, one command a line:
//
//	client 0|1         a Tor client connects to the ORPort (1: stuck in its handshake)
//	relay FINGERPRINT  a peer relay connects to the ORPort, claiming the fingerprint (hex)
//	dir                a client makes a directory request to the DirPort
//
// and answering "dialed client|relay|dir" on its standard output once
// each dial is made or has failed. The first child also listens as the
// peer relays, the exit streams' destination and a peer that never
// answers; its first line says where: "listening PEER,PEER,... DEST
// STALL" (the others' "listening"). A child ends when its standard input
// does, which is when relaysim ends, however it ends.
const farSideEnv = "RELAYSIM_FAR_SIDE"

// farSideMain is a child's program: its arguments are the ORPort's and
// the DirPort's addresses, the address it listens on and whether it
// listens. It returns the exit code.
func farSideMain(args []string, stdin io.Reader, stdout io.Writer) int {
	var host netip.Addr
	var err error
	if len(args) == 4 {
		host, err = netip.ParseAddr(args[2])
	}
	if len(args) != 4 || err != nil || args[3] != "listen" && args[3] != "dial" {
		fmt.Fprintln(os.Stderr, "relaysim far side: want ORPORT DIRPORT HOST listen|dial")
		return 2
	}
	signal.Ignore(os.Interrupt) // a terminal's ^C reaches the whole group: relaysim decides when this ends
	f := &farSide{pace: newPace(), orAddr: args[0], dirAddr: args[1], host: host}
	out := &lineWriter{w: stdout}
	listening := "listening"
	if args[3] == "listen" {
		addrs, err := f.listen()
		if err != nil {
			fmt.Fprintln(os.Stderr, "relaysim far side:", err)
			return 1
		}
		listening += " " + addrs
	}
	if out.line(listening) != nil {
		return 1
	}
	in := bufio.NewScanner(stdin)
	for in.Scan() {
		kind, arg, _ := strings.Cut(in.Text(), " ")
		go func() {
			f.dial(kind, arg)
			out.line("dialed " + kind)
		}()
	}
	return 0 // standard input ended: relaysim is gone or done
}

// farSide is a child's state.
type farSide struct {
	*pace
	orAddr, dirAddr string
	host            netip.Addr // where the first child listens
}

// listen starts the listeners of the first child and returns their
// addresses as its first line gives them.
func (f *farSide) listen() (string, error) {
	var peers []string
	for i := range numPeers {
		l, err := listen(f.host)
		if err != nil {
			return "", err
		}
		fp := peerFingerprint(i)
		go acceptEach(l, func(c net.Conn) { servePeer(c, fp) })
		peers = append(peers, l.Addr().String())
	}
	dest, err := listen(f.host)
	if err != nil {
		return "", err
	}
	go acceptEach(dest, serveEcho)
	stall, err := listen(f.host)
	if err != nil {
		return "", err
	}
	go acceptEach(stall, serveStalled)
	return strings.Join(peers, ",") + " " + dest.Addr().String() + " " + stall.Addr().String(), nil
}

// dial makes one connection of kind and drives its far end on a
// goroutine of its own.
func (f *farSide) dial(kind, arg string) {
	addr := f.orAddr
	if kind == "dir" {
		addr = f.dirAddr
	}
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		return
	}
	switch kind {
	case "client":
		go f.client(c, nil, arg == "1")
	case "relay":
		var fp connstate.Fingerprint
		if b, err := hex.DecodeString(arg); err == nil && len(b) == len(fp) {
			copy(fp[:], b)
			go f.client(c, &fp, false)
			return
		}
		c.Close()
	case "dir":
		go dirRequest(c)
	default:
		c.Close()
	}
}

// acceptEach serves each connection l accepts on a goroutine of its own,
// until l fails.
func acceptEach(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

// lineWriter writes whole lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lineWriter) line(s string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := io.WriteString(w.w, s+"\n")
	return err
}

// servePeer is a peer relay's end of our outbound connection: it proves
// its identity, then echoes every cell back.
func servePeer(c net.Conn, fp connstate.Fingerprint) {
	defer c.Close()
	var hello cell
	hello.set(0, cmdHello)
	hello[5] = helloRelay
	copy(hello[6:], fp[:])
	if _, err := c.Write(hello[:]); err != nil {
		return
	}
	var cl cell
	for readCell(c, &cl) == nil {
		if _, err := c.Write(cl[:]); err != nil {
			return
		}
	}
}

// serveStalled is a peer that accepts and never answers: connections to
// it stay 'oRt' until the churn gives up on them.
func serveStalled(c net.Conn) {
	defer c.Close()
	io.Copy(io.Discard, c)
}

// serveEcho is the destination of exit streams: it sends back what it
// gets. It copies through a buffer: io.Copy between two TCP connections
// would splice through a pipe, two more descriptors per stream.
func serveEcho(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, buf)
}

// dialer bounds every dial.
var dialer = net.Dialer{Timeout: 2 * time.Second}

// client is a simulated Tor client (or, with fp, a peer relay) on its end
// of a connection to our ORPort, sending cells on a circuit or two. A stuck
// one never finishes its handshake. It stops when the connection dies.
func (f *farSide) client(c net.Conn, fp *connstate.Fingerprint, stuck bool) {
	defer c.Close()
	if stuck {
		io.Copy(io.Discard, c) // until we give up on it and close
		return
	}
	var hello cell
	hello.set(0, cmdHello)
	if fp != nil {
		hello[5] = helloRelay
		copy(hello[6:], fp[:])
	}
	if _, err := c.Write(hello[:]); err != nil {
		return
	}
	// A reader drains what comes back, so the relay's writes never block.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c)
	}()
	defer func() { c.Close(); <-drained }()

	var circID uint32
	var open []uint32
	var out cell // reused: one cell in flight at a time
	for {
		if !f.sleep(f.jitter(time.Second, 8*time.Second)) {
			return
		}
		switch {
		case len(open) == 0 || len(open) < 3 && f.chance(10):
			circID++
			open = append(open, circID)
			out.set(circID, cmdCreate)
		case f.chance(5):
			out.set(open[0], cmdDestroy)
			open = open[1:]
		default:
			out.set(open[len(open)-1], cmdData)
		}
		c.SetWriteDeadline(time.Now().Add(writeLimit))
		if _, err := c.Write(out[:]); err != nil {
			return
		}
	}
}

// dirRequest fetches a document from our DirPort, as a client's directory
// request does, slowly enough to be seen.
func dirRequest(c net.Conn) {
	defer c.Close()
	if _, err := io.WriteString(c, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n\r\n"); err != nil {
		return
	}
	io.Copy(io.Discard, c)
}

// pace is the far sides' and the simulation's sense of time and chance:
// random waits that end early once done is closed.
type pace struct {
	diceMu sync.Mutex
	dice   *rand.Rand
	done   chan struct{}
}

func newPace() *pace {
	return &pace{dice: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)), done: make(chan struct{})}
}

// sleep waits d, or less if done closes; false if it did.
func (p *pace) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.C:
		return true
	}
}

// jitter returns a random duration in [lo, hi).
func (p *pace) jitter(lo, hi time.Duration) time.Duration {
	p.diceMu.Lock()
	defer p.diceMu.Unlock()
	return lo + time.Duration(p.dice.Int64N(int64(hi-lo)))
}

func (p *pace) intn(n int) int {
	p.diceMu.Lock()
	defer p.diceMu.Unlock()
	return p.dice.IntN(n)
}

func (p *pace) chance(percent int) bool { return p.intn(100) < percent }
