package getinfo_test

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/golden"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

const fixtureDir = "../connstate/connstatetest/fixtures"

func connMux(t testing.TB, src getinfo.Source, policy scrub.Policy) *getinfo.Mux {
	t.Helper()
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: src, Policy: policy}).Register(m)
	return m
}

func reply(t testing.TB, m *getinfo.Mux, keys ...string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, m, keys))
	return buf.String()
}

// TestConnAllGolden answers conn/all for every fixture under each tier and
// compares the whole reply, byte for byte, with the goldens beside the
// fixtures (connstatetest.Golden), and with
// what package oracle says the tier shows. The public tier consults the
// fixture's listed relays, at an instant of its epoch grid.
func TestConnAllGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.conns"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 7)
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".conns")
		fx, err := connstatetest.ReadFile(path)
		require.NoError(t, err)
		policies := []struct {
			name string
			p    scrub.Policy
		}{{"public", scrub.Public(fx.Relays())}, {"testnet", scrub.TestNetwork()}, {"unscrubbed", scrub.Unscrubbed()}}
		const seed = connstatetest.GoldenSeed // the public tier's secrets, fixed to reproduce the golden
		for _, pol := range policies {
			t.Run(name+"/"+pol.name, func(t *testing.T) {
				reg, clk, err := fx.Build()
				require.NoError(t, err)
				if pol.p.EpochLength() > 0 {
					onGrid(clk, pol.p.EpochLength()) // so that the oracle's uptimes are the epoch's
				}
				m := getinfo.NewMux()
				(&getinfo.Conns{Source: reg, Policy: pol.p, Seeds: func() uint64 { return seed }}).Register(m)
				got := reply(t, m, "conn/all")
				golden.Compare(t, filepath.Join(fixtureDir, name+"."+pol.name+".reply"), []byte(got))

				// The golden file must also be what the specification says,
				// as package oracle restates it apart from format and scrub.
				entries := reg.AppendEntries(nil)
				var want string
				switch pol.name {
				case "public":
					want = oracle.PublicLines(entries, oracle.Listed(fx.Relays()), 10, seed)
				case "testnet":
					want = oracle.TestNetworkLines(entries)
				default:
					lines := make([]string, len(entries))
					for i, e := range entries {
						lines[i] = oracle.Line(e)
					}
					want = strings.Join(lines, "\n")
				}
				assert.Equal(t, replyFor("conn/all", want), got)
			})
		}
	}
}

// onGrid advances clk to the next instant of an epoch grid of length d,
// unless it is on one.
func onGrid(clk *connstatetest.Clock, d time.Duration) {
	if off := clk.Now().UnixNano() % int64(d); off != 0 {
		clk.Advance(d - time.Duration(off))
	}
}

// replyFor builds the reply tor's rules give a single key with value v.
func replyFor(key, v string) string {
	if !strings.Contains(v, "\n") {
		return "250-" + key + "=" + v + "\r\n250 OK\r\n"
	}
	return "250+" + key + "=\r\n" + strings.ReplaceAll(v, "\n", "\r\n") + "\r\n.\r\n250 OK\r\n"
}

func TestConnAllShapeFollowsCount(t *testing.T) {
	reg, _, err := connstatetest.Load(strings.NewReader(""))
	require.NoError(t, err)
	m := connMux(t, reg, scrub.TestNetwork())
	assert.Equal(t, "250-conn/all=\r\n250 OK\r\n", reply(t, m, "conn/all"), "no entries")

	reg, _, err = connstatetest.Load(strings.NewReader("conn 23 IRt remote=198.51.100.7:1 read=4000 written=1000 age=42"))
	require.NoError(t, err)
	m = connMux(t, reg, scrub.TestNetwork())
	assert.Equal(t, "250-conn/all=23 0 0 0 0 IRt 4096 1024 42\r\n250 OK\r\n", reply(t, m, "conn/all"), "one entry")

	reg, _, err = connstatetest.Load(strings.NewReader("conn 23 IRt age=42\nconn 24 IXt remote=127.0.0.1:5 lport=9051 read=7 age=1"))
	require.NoError(t, err)
	m = connMux(t, reg, scrub.TestNetwork())
	assert.Equal(t, "250+conn/all=\r\n23 0 0 0 0 IRt 0 0 42\r\n24 0 0 127.0.0.1:5 9051 IXt 7 0 1\r\n.\r\n250 OK\r\n", reply(t, m, "conn/all"), "two entries")
}

func TestConnKeys(t *testing.T) {
	reg, _, err := connstatetest.LoadFile(filepath.Join(fixtureDir, "exit.conns"))
	require.NoError(t, err)
	m := connMux(t, reg, scrub.TestNetwork())
	found := []struct{ key, want string }{
		{"conn/0/1", "1 0 0 127.0.0.1:39999 9051 IXt 4000 123456 86400"},
		{"conn/300/40", "40 300 0 0 0 ORt 39936 1999872 " + uptime(t, reg, 0, 40)},
		{"conn/301/42", "42 301 0 0 0 ORt 1024 2048 " + uptime(t, reg, 0, 42)},
	}
	for _, tt := range found {
		got, err := m.Answer(nil, tt.key)
		require.NoError(t, err, tt.key)
		assert.Equal(t, tt.want, string(got), tt.key)
	}
	unknown := []string{
		"conn/", "conn/all/", "conn/0", "conn/0/", "conn//1", "conn/0/0", "conn/00/1", "conn/0/01",
		"conn/+0/1", "conn/-0/1", "conn/0/+1", "conn/0/1/", "conn/0/1/2", "conn/0/ 1", "conn/0/1 ",
		"conn/0/18446744073709551616", "conn/18446744073709551616/1", "conn/0/99", "conn/300/1",
		"conn/999/40", "conn/0/47", "conn/ALL", "Conn/all", "conn/*", "conn/0x1/1", "conn/0/1\x00",
	}
	for _, key := range unknown {
		_, err := m.Answer(nil, key)
		assert.ErrorIs(t, err, getinfo.ErrUnrecognized, "%q", key)
		var gerr *getinfo.Error
		require.True(t, errors.As(err, &gerr))
		assert.Equal(t, 552, gerr.Code)
	}
	assert.Equal(t, "552 Unrecognized key \"conn/0/01\"\r\n", reply(t, m, "conn/0/1", "conn/0/01"))
	assert.Equal(t, "250-conn/0/1=1 0 0 127.0.0.1:39999 9051 IXt 4000 123456 86400\r\n250-conn/0/1=1 0 0 127.0.0.1:39999 9051 IXt 4000 123456 86400\r\n250 OK\r\n",
		reply(t, m, "conn/0/1", "conn/0/1"), "duplicates are answered twice")
}

func uptime(t *testing.T, reg *connstate.Registry, circ, conn uint64) string {
	t.Helper()
	e, ok := reg.LookupEntry(circ, conn)
	require.True(t, ok)
	return strconv.FormatUint(e.Uptime, 10)
}

// TestNoScrubbedEndpointLeaks builds a registry holding every flag
// combination, with and without fingerprints, over IPv4 and IPv6, each
// connection on a circuit, and checks under the public and test-network
// tiers that no address or port of a connection the tier scrubs appears
// anywhere in any conn/all or conn/<circ>/<conn> reply.
func TestNoScrubbedEndpointLeaks(t *testing.T) {
	reg := connstate.NewRegistry(connstate.WithClock(connstatetest.NewClock(connstatetest.Epoch()))) // no real timer
	fp := connstate.Fingerprint{0xAB, 0xCD, 0xEF}
	listed := connstatetest.ListedRelays{}
	type conn struct {
		id       uint64
		addr     string // the address as IP:PORT spells it, up to the colon before the port
		ports    []string
		relay    bool // a T peer with a fingerprint, listed at its address
		control  bool
		remote   netip.AddrPort
		notRelay bool
	}
	var conns []conn
	n := 0
	for _, dir := range []connstate.Direction{connstate.Inbound, connstate.Outbound} {
		for _, est := range []bool{false, true} {
			for u := connstate.UsageClient; u <= connstate.UsageDirectory; u++ {
				for _, net := range []connstate.Network{connstate.NetworkTor, connstate.NetworkOutside} {
					for _, withFP := range []bool{false, true} {
						if withFP && net != connstate.NetworkTor {
							continue // Open refuses a fingerprint outside Tor; SetNotRelay covers that case below
						}
						for _, v6 := range []bool{false, true} {
							n++
							// Distinctive ports and addresses that no counter or ID can equal.
							rport, lport := uint16(40000+n), uint16(50000+n)
							addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(n)})
							spelt := addr.String() + ":"
							if v6 {
								addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xde, 0xad, 14: 0xbe, 15: byte(n)})
								spelt = "[" + addr.String() + "]:"
							}
							cfg := connstate.ConnConfig{Direction: dir, Usage: u, Network: net, Established: est,
								Remote: netip.AddrPortFrom(addr, rport), LocalPort: lport}
							if withFP {
								cfg.Fingerprint = fp
								listed[fp] = append(listed[fp], cfg.Remote)
							}
							c, err := reg.Open(cfg)
							require.NoError(t, err)
							c.AddRead(uint64(n))
							circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
							require.NoError(t, err)
							_, err = circ.BindExit(c)
							require.NoError(t, err)
							conns = append(conns, conn{id: c.ID(), addr: spelt, ports: []string{strconv.Itoa(int(rport)), strconv.Itoa(int(lport))},
								relay: net == connstate.NetworkTor && withFP, control: u == connstate.UsageControl, remote: cfg.Remote})
						}
					}
				}
			}
		}
	}
	// A relay that authenticated and was then found not to be one: scrubbed again.
	c, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("[2001:db8:feed::99]:41999"), LocalPort: 51999})
	require.NoError(t, err)
	require.NoError(t, c.SetFingerprint(fp))
	require.NoError(t, c.SetNotRelay())
	listed[fp] = append(listed[fp], netip.MustParseAddrPort("[2001:db8:feed::99]:41999"))
	conns = append(conns, conn{id: c.ID(), addr: "[2001:db8:feed::99]:", ports: []string{"41999", "51999"}, notRelay: true})

	for _, tier := range []struct {
		policy scrub.Policy
		shows  func(conn) bool
	}{
		{scrub.TestNetwork(), func(c conn) bool { return c.relay || c.control }},
		{scrub.Public(listed), func(c conn) bool { return c.relay }},
	} {
		t.Run(tier.policy.Tier().String(), func(t *testing.T) {
			var secrets, shown []conn
			for _, c := range conns {
				if tier.shows(c) {
					shown = append(shown, c)
				} else {
					secrets = append(secrets, c)
				}
			}
			require.Greater(t, len(secrets), 60)
			require.NotEmpty(t, shown)

			m := connMux(t, reg, tier.policy)
			var replies []string
			replies = append(replies, reply(t, m, "conn/all"))
			for _, e := range reg.AppendEntries(nil) {
				replies = append(replies, reply(t, m, fmt.Sprintf("conn/%d/%d", e.CircID, e.ConnID)))
			}
			all := strings.Join(replies, "")
			for _, s := range secrets {
				if strings.Contains(all, s.addr) {
					t.Errorf("address %s of scrubbed connection %d appears in a reply", s.addr, s.id)
				}
				for _, line := range strings.Split(all, "\n") {
					for _, field := range strings.Fields(strings.TrimPrefix(strings.TrimSuffix(line, "\r"), "250-conn/")) {
						for _, p := range s.ports {
							assert.NotEqual(t, p, field, "port of scrubbed connection %d as a field", s.id)
							assert.False(t, strings.HasSuffix(field, ":"+p), "port of scrubbed connection %d in IP:PORT", s.id)
						}
					}
				}
			}
			// And the shown ones really are shown: the test would pass vacuously otherwise.
			unscrubbed := reply(t, connMux(t, reg, scrub.Unscrubbed()), "conn/all")
			for _, s := range secrets {
				if !strings.Contains(unscrubbed, s.addr) {
					t.Errorf("unscrubbed reply lacks %s of connection %d", s.addr, s.id)
				}
			}
			for _, c := range shown {
				if !strings.Contains(all, " "+c.remote.String()+" ") {
					t.Errorf("connection %d should be shown as %s", c.id, c.remote)
				}
			}
		})
	}
}

// A warm conn/all allocates a few objects for its goroutines and parts,
// the same for 100,000 entries as for 10,000: nothing per entry.
func TestWarmConnAllDoesNotAllocatePerEntry(t *testing.T) {
	allocs := func(conns, workers int) float64 {
		reg, _, err := connstatetest.BusyRelay(5, conns).Build()
		require.NoError(t, err)
		h := &getinfo.Conns{Source: reg, Workers: workers, Policy: scrub.TestNetwork()} // live: every answer formats
		buf, err := h.AppendInfo(nil, "conn/all")
		require.NoError(t, err)
		require.Greater(t, bytes.Count(buf, []byte("\n")), 4*conns)
		return testing.AllocsPerRun(5, func() {
			buf, err = h.AppendInfo(buf[:0], "conn/all")
		})
	}
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, workers := range []int{1, 2} {
		small, large := allocs(2000, workers), allocs(20000, workers)
		assert.Equal(t, small, large, "%d workers: allocations must not grow with the entry count", workers)
		assert.LessOrEqual(t, large, 32.0, "%d workers: a few for the iterators, the parts and goroutines", workers)
	}

	reg, _, err := connstatetest.BusyRelay(5, 100).Build()
	require.NoError(t, err)
	h := &getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}
	buf := make([]byte, 0, 256)
	one := testing.AllocsPerRun(100, func() { buf, _ = h.AppendInfo(buf[:0], "conn/7/12") })
	assert.Zero(t, one)

	// The public tier answers from its epoch's view: a copy, nothing more.
	h = &getinfo.Conns{Source: reg}
	all, err := h.AppendInfo(nil, "conn/all")
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { all, _ = h.AppendInfo(all[:0], "conn/all") }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf, _ = h.AppendInfo(buf[:0], "conn/0/12") }))
}

// Formatting in parallel gives the same bytes as on one goroutine.
func TestParallelConnAllIsSequential(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(9, 3000).Build()
	require.NoError(t, err)
	for _, p := range []scrub.Policy{scrub.TestNetwork(), scrub.Public(nil)} {
		seeds := func() uint64 { return 7 }
		one, err := (&getinfo.Conns{Source: reg, Workers: 1, Policy: p, Seeds: seeds}).AppendInfo(nil, "conn/all")
		require.NoError(t, err)
		for _, w := range []int{2, 3, 8} {
			many, err := (&getinfo.Conns{Source: reg, Workers: w, Policy: p, Seeds: seeds}).AppendInfo([]byte("prefix"), "conn/all")
			require.NoError(t, err)
			assert.Equal(t, "prefix"+string(one), string(many), "%s, %d workers", p.Tier(), w)
		}
	}
}

// exampleFixture is a relay with one public relay peer, one client and
// the circuit it carries between them, and the consensus listing the peer.
const exampleFixture = `
conn 17 ORT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 lport=51622 read=1048576 written=524288 age=3600
conn 23 IRt remote=198.51.100.7:50312 lport=9001 read=786432 written=0 age=42
circ 1041
leg 1041 in 23 read=3000 written=1000
leg 1041 out 17 read=1536 written=2560
listed 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101
`

// A relay serves the public tier, the default, with its consensus as the
// source of public relays: relay 17 is shown at its published ORPort,
// client 23 without an endpoint, and the circuit it carries for the client
// not at all. IDs are shown as pseudonyms, stable while the process runs;
// every byte count is rounded to 256 KiB (with an offset drawn afresh each
// epoch; the counts here are multiples of it, which stay); every answer
// within an epoch is the same.
func ExampleConns() {
	fx, err := connstatetest.ParseFixture(strings.NewReader(exampleFixture))
	if err != nil {
		panic(err)
	}
	reg, _, err := fx.Build()
	if err != nil {
		panic(err)
	}
	mux := getinfo.NewMux()
	(&getinfo.Conns{
		Source: reg,
		Policy: scrub.Public(fx.Relays()),
		Seeds:  func() uint64 { return 1 }, // fixed so that this output is reproducible: leave it nil
	}).Register(mux)
	all, _ := mux.Answer(nil, "conn/all")
	fmt.Println(string(all))
	relay := strings.Fields(strings.Split(string(all), "\n")[1])[0] // the relay's line sorts second here
	line, _ := mux.Answer(nil, "conn/0/"+relay)
	fmt.Println(string(line))
	_, err = mux.Answer(nil, "conn/1041/23")
	fmt.Println(err)
	// Output:
	// 532798976616321 0 0 0 0 IRt 786432 0 40
	// 3544444323729561 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 0 ORT 1048576 524288 3600
	// 3544444323729561 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 0 ORT 1048576 524288 3600
	// getinfo: 552 Unrecognized key "conn/1041/23"
}

// A test network opts into the proposal's full view by name: the legs of
// every circuit, live values, 1 KiB rounding of scrubbed lines and legs.
func ExampleConns_testNetwork() {
	reg, _, err := connstatetest.Load(strings.NewReader(exampleFixture))
	if err != nil {
		panic(err)
	}
	mux := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(mux)
	var out bytes.Buffer
	if err := getinfo.WriteReply(&out, mux, []string{"conn/all", "conn/1041/23"}); err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n"))
	// Output:
	// 250+conn/all=
	// 17 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 1048576 524288 3600
	// 23 0 0 0 0 IRt 786432 0 42
	// 17 1041 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 2048 3072 3600
	// 23 1041 0 0 0 IRt 3072 1024 42
	// .
	// 250-conn/1041/23=23 1041 0 0 0 IRt 3072 1024 42
	// 250 OK
}

// panickySource is a PartitionedSource whose second part panics.
type panickySource struct{ *connstate.Registry }

func (p panickySource) EntryPartsAt(at time.Time, n int) ([]iter.Seq[*connstate.Entry], func()) {
	parts, release := p.Registry.EntryPartsAt(at, n)
	if len(parts) > 1 {
		parts[1] = func(func(*connstate.Entry) bool) { panic("boom") }
	}
	return parts, release
}

// A panic on one of conn/all's worker goroutines becomes a 551 for the
// caller instead of ending the process.
func TestWorkerPanicIsA551(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(2, 3000).Build()
	require.NoError(t, err)
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: panickySource{reg}, Workers: 2, Policy: scrub.TestNetwork()}).Register(m) // every leg: parts enough
	_, err = m.Answer(nil, "conn/all")
	assert.ErrorIs(t, err, getinfo.ErrInternal)
}

// conn/all formatted in parallel parts, by one Conns on two goroutines at
// once, while connections, circuits and legs come and go: every answer
// parses, is sorted by (CircID, ConnID) without a duplicate, and shows a
// leg only beside its connection's own line.
func TestConnAllDuringChurn(t *testing.T) {
	defer goleak.VerifyNone(t)
	reg, _, err := connstatetest.BusyRelay(4, 1000).Build()
	require.NoError(t, err)
	require.Greater(t, len(reg.AppendEntries(nil)), 2*connstate.MinPart, "enough lines for parts")
	h := &getinfo.Conns{Source: reg, Policy: scrub.Unscrubbed(), Workers: 4}
	stop := make(chan struct{})
	var churn, readers sync.WaitGroup
	churn.Go(func() {
		cfg := connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c, err := reg.Open(cfg)
			if !assert.NoError(t, err) {
				return
			}
			circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
			if !assert.NoError(t, err) {
				return
			}
			_, err = circ.BindInbound(c)
			assert.NoError(t, err)
			if i%2 == 0 {
				assert.NoError(t, c.Close())
			} else {
				assert.NoError(t, circ.Close())
			}
			runtime.Gosched()
		}
	})
	for range 2 {
		readers.Go(func() {
			var v []byte
			for range 5 {
				var err error
				if v, err = h.AppendInfo(v[:0], getinfo.ConnAllKey); !assert.NoError(t, err) {
					return
				}
				entries, err := format.ParseAll(string(v))
				if !assert.NoError(t, err) {
					return
				}
				own := map[uint64]bool{}
				for i, e := range entries {
					if i > 0 {
						p := entries[i-1]
						if !assert.True(t, p.CircID < e.CircID || p.CircID == e.CircID && p.ConnID < e.ConnID, "line %d/%d after %d/%d", e.CircID, e.ConnID, p.CircID, p.ConnID) {
							return
						}
					}
					if e.CircID == 0 {
						own[e.ConnID] = true
					} else if !assert.True(t, own[e.ConnID], "leg %d/%d without its connection's line", e.CircID, e.ConnID) {
						return
					}
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	churn.Wait()
}
