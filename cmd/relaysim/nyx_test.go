package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/internal/tmuxtest"
	"github.com/conninfo/conninfo/internal/tortest"
)

// countingProxy forwards connections to addr and counts the command lines
// controllers send through it.
type countingProxy struct {
	l        net.Listener
	commands atomic.Int64
	wg       sync.WaitGroup
}

func newCountingProxy(t *testing.T, addr string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &countingProxy{l: l}
	var mu sync.Mutex
	var open []net.Conn
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			p.wg.Add(2)
			go func() {
				defer p.wg.Done()
				io.Copy(c, up)
				c.Close()
			}()
			go func() {
				defer p.wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					p.commands.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
					if _, werr := up.Write(buf[:n]); werr != nil || err != nil {
						up.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) addr() string { return p.l.Addr().String() }

// startNyx runs nyx against a control port in a 160×50 tmux window, with a
// home of its own, and ends it with the test.
func startNyx(t *testing.T, addr string) *tmuxtest.Session {
	t.Helper()
	return tmuxtest.StartT(t, 160, 50, fmt.Sprintf("HOME=%s nyx -i %s", t.TempDir(), addr))
}

// screen is the nyx session's screen.
func screen(t *testing.T, s *tmuxtest.Session) string {
	t.Helper()
	v, err := s.Screen()
	require.NoError(t, err)
	return v
}

func requireNyx(t *testing.T) {
	t.Helper()
	if msg := tmuxtest.Missing("nyx", "tmux"); msg != "" {
		t.Skip(msg)
	}
}

// nyxWindow is how long each nyx is watched, and the pages it is shown.
const nyxWindow = 24 * time.Second

// watch drives nyx through its first three pages, a third of nyxWindow
// each, at the same instants for every control port, shows pages each
// page's screen as it is left, and returns the commands nyx sent in that
// time.
func watch(t *testing.T, s *tmuxtest.Session, p *countingProxy, pages func(page int, screen string)) int64 {
	start := time.Now()
	for page := range 3 {
		time.Sleep(time.Until(start.Add(time.Duration(page+1) * nyxWindow / 3)))
		if pages != nil {
			pages(page, screen(t, s))
		}
		if page < 2 {
			require.NoError(t, s.Keys("Right"))
		}
	}
	return p.commands.Load()
}

// TestNyxShowsTheRelay runs Debian's nyx against relaysim as an operator
// would: the header names the relay, the graph moves, the connections and
// configuration pages list them, and nyx asks no more of relaysim than of
// a real tor relay in the same time. relaysim serves the test-network
// tier, whose BW events are each second's bytes: in the public tier its
// few KB a second show as a 256 KiB step every half minute or so.
func TestNyxShowsTheRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of most of a CPU (nyx draws in Python): README's test command runs it alone, without -short")
	}
	requireNyx(t)
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "60", "-quiet", "-policy", "testnet", "-duration", "90s")
	proxy := newCountingProxy(t, controlAddr(t, out.String()))
	nyx := startNyx(t, proxy.addr())

	header, err := nyx.WaitFor(20*time.Second, "the relay's line", func(s string) bool { return strings.Contains(s, "relaysim - 127.0.0.1:") })
	require.NoError(t, err)
	assert.NotContains(t, header, "Relaying Disabled")
	assert.Contains(t, header, "fingerprint: "+ownFingerprint.String())
	orPort := regexp.MustCompile(`ORPort 127\.0\.0\.1:(\d+)`).FindStringSubmatch(out.String())
	require.Len(t, orPort, 2, out.String())
	assert.Contains(t, header, "relaysim - 127.0.0.1:"+orPort[1], "nickname and ORPort")
	proxy.commands.Store(0) // count from here, as for tor below

	screens := map[int]string{}
	relaysimCommands := watch(t, nyx, proxy, func(page int, screen string) { screens[page] = screen })
	graph, conns, config := screens[0], screens[1], screens[2]
	assert.NotRegexp(t, `Download \(0\.0 B/sec\s+- avg: 0\.0 B/sec, total: 0\.0 B\)`, graph, "the graph has moved:\n%s", graph)
	assert.Regexp(t, `Connections \(\d+ inbound, \d+ outbound`, conns)
	assert.Contains(t, conns, "(INBOUND)", "the connections page lists connections:\n%s", conns)
	assert.Regexp(t, `Nickname\s+relaysim`, config)
	assert.Regexp(t, `ORPort\s+`+orPort[1], config)

	// The same with a real tor relay, offline.
	torOR, err := tortest.FreePort()
	require.NoError(t, err)
	tor := tortest.Start(t, "ORPort 127.0.0.1:"+strconv.Itoa(torOR), "Nickname conninfoTest", "AssumeReachable 1", "PublishServerDescriptor 0", "ExitRelay 0")
	torProxy := newCountingProxy(t, tor.Addr)
	torNyx := startNyx(t, torProxy.addr())
	_, err = torNyx.WaitFor(20*time.Second, "tor's header", func(s string) bool { return strings.Contains(s, "Tor 0.4") })
	require.NoError(t, err)
	torProxy.commands.Store(0)
	torCommands := watch(t, torNyx, torProxy, nil)
	t.Logf("nyx sent %d commands to relaysim and %d to tor in %v (%.2f/s and %.2f/s)",
		relaysimCommands, torCommands, nyxWindow, float64(relaysimCommands)/nyxWindow.Seconds(), float64(torCommands)/nyxWindow.Seconds())
	assert.LessOrEqual(t, relaysimCommands, torCommands, "nyx's commands to relaysim against tor's")
	require.NoError(t, wait())
}
