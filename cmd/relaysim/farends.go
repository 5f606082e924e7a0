package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// farEnds are the child processes that hold the far ends of the relay's
// connections (farside.go says what they do).
type farEnds struct {
	procs []*farProc
	next  int // the child the next dial goes to, under simulation.mu

	// What the first child listens as.
	peers       []netip.AddrPort // the peer relays, by peerFingerprint's number
	dest, stall netip.AddrPort

	ended chan struct{} // closed when a child ends while relaysim runs
	once  sync.Once
	mu    sync.Mutex
	done  bool // close has begun: a child's end is expected
}

// farProc is one child.
type farProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// perFarProc is how many of the relay's connections one child holds the
// far ends of, at most: the first child's listeners also take the far
// ends of the relay's own dials (about a quarter), and every child stays
// well inside 20,000 descriptors.
const perFarProc = 6000

// startFarEnds starts enough children for target connections, dialing
// the ORPort and DirPort at orAddr and dirAddr, the first listening on
// host; with ns they run inside it. dialed is told of each dial made or
// failed, by kind ("client", "relay", "dir").
func startFarEnds(target int, orAddr, dirAddr string, host netip.Addr, ns *netns, dialed func(kind string)) (*farEnds, error) {
	if os.Getenv(farSideEnv) != "" {
		// A far side that would simulate: its program did not check
		// farSideEnv first (a test binary without relaysim's TestMain),
		// and its children would do the same.
		return nil, errors.New("far ends: started as a far side; the program must call farSideMain first")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("far ends: %w", err)
	}
	f := &farEnds{ended: make(chan struct{})}
	for i := range 1 + target/perFarProc {
		mode := "dial"
		if i == 0 {
			mode = "listen"
		}
		first, err := f.start(ns.command(self, orAddr, dirAddr, host.String(), mode), dialed)
		if err == nil && i == 0 {
			err = f.readListening(first)
		}
		if err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

// start runs one child and returns its first line.
func (f *farEnds) start(cmd *exec.Cmd, dialed func(string)) (string, error) {
	cmd.Env = append(os.Environ(), farSideEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = farSideAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("far ends: %w", err)
	}
	f.procs = append(f.procs, &farProc{cmd: cmd, stdin: stdin})
	lines := bufio.NewScanner(stdout)
	first := make(chan string, 1)
	go func() {
		if lines.Scan() {
			first <- lines.Text()
		}
		close(first)
		for lines.Scan() {
			if kind, ok := strings.CutPrefix(lines.Text(), "dialed "); ok {
				dialed(kind)
			}
		}
		f.mu.Lock()
		expected := f.done
		f.mu.Unlock()
		if !expected {
			f.once.Do(func() { close(f.ended) })
		}
	}()
	select {
	case l, ok := <-first:
		if !ok || !strings.HasPrefix(l, "listening") {
			return "", fmt.Errorf("far ends: the child said %q", l)
		}
		return l, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("far ends: the child said nothing in 30 s")
	}
}

// readListening reads the first child's "listening PEER,... DEST STALL".
func (f *farEnds) readListening(line string) error {
	fields := strings.Fields(line)
	if len(fields) != 4 {
		return fmt.Errorf("far ends: %q", line)
	}
	for _, a := range strings.Split(fields[1], ",") {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fmt.Errorf("far ends: %q: %w", line, err)
		}
		f.peers = append(f.peers, ap)
	}
	var err1, err2 error
	f.dest, err1 = netip.ParseAddrPort(fields[2])
	f.stall, err2 = netip.ParseAddrPort(fields[3])
	if err := errors.Join(err1, err2); err != nil || len(f.peers) != numPeers {
		return fmt.Errorf("far ends: %q: %v", line, err)
	}
	return nil
}

// dialLocked asks the next child for one connection: "client 0|1", "relay FP"
// or "dir". The caller holds simulation.mu.
func (f *farEnds) dialLocked(command string) error {
	p := f.procs[f.next%len(f.procs)]
	f.next++
	_, err := io.WriteString(p.stdin, command+"\n")
	return err
}

// close ends the children: their standard input ends, and so do they;
// one that lingers is killed.
func (f *farEnds) close() {
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
	for _, p := range f.procs {
		p.stdin.Close()
	}
	for _, p := range f.procs {
		exited := make(chan struct{})
		go func() {
			p.cmd.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-exited
		}
	}
}

// clientCommand, relayCommand and dirCommand are the children's commands.
func clientCommand(stuck bool) string {
	if stuck {
		return "client 1"
	}
	return "client 0"
}

func relayCommand(fp connstate.Fingerprint) string { return "relay " + hex.EncodeToString(fp[:]) }

const dirCommand = "dir"

// peerFingerprint is the identity of peer relay i.
func peerFingerprint(i int) connstate.Fingerprint {
	return sha1.Sum(fmt.Appendf(nil, "relaysim peer %d", i))
}
