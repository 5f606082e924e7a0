package getinfo_test

import (
	"bytes"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// dataBlockReply is how a GETINFO reply carries one key's value, written
// out here from the control-port spec, apart from the package's encoder:
// "250-KEY=VALUE" without a newline in it, else "250+KEY=", each line
// ended by CR LF, a leading '.' doubled, and ".".
func dataBlockReply(key, value string) string {
	if !strings.ContainsAny(value, "\r\n") {
		return "250-" + key + "=" + value + "\r\n"
	}
	var b strings.Builder
	b.WriteString("250+" + key + "=\r\n")
	for line := range strings.SplitSeq(value, "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line + "\r\n")
	}
	b.WriteString(".\r\n")
	return b.String()
}

// conn/all is streamed into the reply, in every tier and for any number
// of lines; the bytes are those of its value, conn/all as Mux.Answer
// gives it, put in a reply by the spec's rules.
func TestConnAllStreamed(t *testing.T) {
	one, _, err := connstatetest.Load(strings.NewReader("conn 7 IRt read=5000 written=7000 age=90"))
	require.NoError(t, err)
	two, _, err := connstatetest.Load(strings.NewReader("conn 7 IRt age=90\nconn 8 ORT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 read=1 written=2"))
	require.NoError(t, err)
	busyFx := connstatetest.BusyRelay(3, 6000) // some 30,000 lines: several chunks
	busy, _, err := busyFx.Build()
	require.NoError(t, err)
	regs := []struct {
		name string
		reg  *connstate.Registry
	}{{"none", connstate.NewRegistry()}, {"one", one}, {"two", two}, {"busy", busy}}
	for _, r := range regs {
		for _, policy := range []scrub.Policy{scrub.Public(busyFx.Relays()), scrub.TestNetwork(), scrub.Unscrubbed()} {
			t.Run(r.name+"/"+policy.String(), func(t *testing.T) {
				m := getinfo.NewMux()
				(&getinfo.Conns{Source: r.reg, Totals: r.reg.Totals, Policy: policy, Seeds: fixedSeeds()}).Register(m)
				m.Handle("version", "The version.", getinfo.HandlerFunc(func(dst []byte, _ string) ([]byte, error) { return append(dst, "0.4.9.11"...), nil }))
				value, err := m.Answer(nil, "conn/all")
				require.NoError(t, err)
				if r.name == "busy" {
					require.Greater(t, len(value), 300<<10, "more than a chunk")
				}
				var rw getinfo.ReplyWriter
				for _, keys := range [][]string{{"conn/all"}, {"version", "conn/all", "version"}, {"conn/all", "conn/all"}} {
					var buf bytes.Buffer
					require.NoError(t, rw.Write(&buf, m, keys))
					var want strings.Builder
					for _, k := range keys {
						v := "0.4.9.11"
						if k == "conn/all" {
							v = string(value)
						}
						want.WriteString(dataBlockReply(k, v))
					}
					want.WriteString("250 OK\r\n")
					assert.Equal(t, want.String(), buf.String(), "%q", keys)
				}
				// A key unknown after conn/all: the 552 alone, as before.
				var buf bytes.Buffer
				require.NoError(t, rw.Write(&buf, m, []string{"conn/all", "nosuch"}))
				assert.Equal(t, "552 Unrecognized key \"nosuch\"\r\n", buf.String())
			})
		}
	}
}

// fixedSeeds makes the public tier's answers reproducible.
func fixedSeeds() func() uint64 {
	n := uint64(0)
	return func() uint64 { n++; return n * 0x9e3779b97f4a7c15 }
}

// boundedWriter records the largest write and fails after failAfter
// writes (never if 0).
type boundedWriter struct {
	writes, largest, failAfter int
	total, first               int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.writes == 0 {
		w.first = len(p)
	}
	w.writes++
	w.largest = max(w.largest, len(p))
	w.total += len(p)
	if w.failAfter > 0 && w.writes >= w.failAfter {
		return 0, errors.New("the controller went away")
	}
	return len(p), nil
}

// A live conn/all of any size goes out in chunks of a bounded size, the
// first a small one so that the controller can start reading early, and a
// write that fails stops it at once with the error.
func TestConnAllStreamsInChunks(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(5, 20000).Build() // 100,000 lines, some 7 MB
	require.NoError(t, err)
	for _, workers := range []int{1, 4} {
		m := getinfo.NewMux()
		(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork(), Workers: workers}).Register(m)
		var rw getinfo.ReplyWriter
		w := &boundedWriter{}
		require.NoError(t, rw.Write(w, m, []string{"conn/all"}))
		assert.Greater(t, w.total, 5<<20, "workers %d", workers)
		assert.LessOrEqual(t, w.largest, 256<<10+512, "workers %d: a chunk and at most a line more", workers)
		assert.LessOrEqual(t, w.first, 16<<10+512, "workers %d: the first chunk is small", workers)
		assert.Greater(t, w.first, 8<<10, "workers %d: but not tiny", workers)
		assert.Greater(t, w.writes, 20, "workers %d", workers)
	}

	m := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(m)
	var rw getinfo.ReplyWriter

	failing := &boundedWriter{failAfter: 3}
	err = rw.Write(failing, m, []string{"conn/all"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the controller went away")
	assert.Equal(t, 3, failing.writes, "no write after the failed one")
	// The writer is fine for the next reply.
	require.NoError(t, rw.Write(&bytes.Buffer{}, m, []string{"conn/all"}))
}

// panicSource panics after yielding some entries, as a buggy host's
// Source might.
type panicSource struct{ after int }

func (p panicSource) Entries() iter.Seq[*connstate.Entry] {
	return func(yield func(*connstate.Entry) bool) {
		for i := range p.after {
			e := connstate.Entry{ConnID: uint64(i + 1), Flags: connstate.Flags{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true}}
			if !yield(&e) {
				return
			}
		}
		panic("source broke")
	}
}

func (panicSource) LookupEntry(uint64, uint64) (connstate.Entry, bool) {
	return connstate.Entry{}, false
}

// panicParts panics in one of the parts of a registry's snapshot, on
// whichever worker formats it.
type panicParts struct {
	*connstate.Registry
	in int
}

func (p panicParts) EntryPartsAt(at time.Time, n int) ([]iter.Seq[*connstate.Entry], func()) {
	parts, release := p.Registry.EntryPartsAt(at, n)
	if p.in < len(parts) {
		good := parts[p.in]
		parts[p.in] = func(yield func(*connstate.Entry) bool) {
			for e := range good {
				if e.ConnID%7 == 0 {
					panic("source broke")
				}
				if !yield(e) {
					return
				}
			}
		}
	}
	return parts, release
}

// A stream that panics part-way cannot be made a 551, part of its reply
// being sent: the reply is cut short with an error, which OnInternalError
// is told of, and the process goes on.
func TestConnAllStreamPanics(t *testing.T) {
	busy, _, err := connstatetest.BusyRelay(2, 4000).Build() // 20,000 lines: parts of their own
	require.NoError(t, err)
	sources := []getinfo.Source{panicSource{0}, panicSource{1}, panicSource{30000}}
	for in := range 6 {
		sources = append(sources, panicParts{busy, in})
	}
	for _, src := range sources {
		m := getinfo.NewMux()
		(&getinfo.Conns{Source: src, Policy: scrub.Unscrubbed(), Workers: 2}).Register(m)
		var internal []*getinfo.Error
		rw := getinfo.ReplyWriter{OnInternalError: func(e *getinfo.Error) { internal = append(internal, e) }}
		var buf bytes.Buffer
		err := rw.Write(&buf, m, []string{"conn/all"})
		require.Error(t, err, "%#v", src)
		assert.Contains(t, err.Error(), "source broke")
		assert.Contains(t, err.Error(), "cut short")
		require.Len(t, internal, 1)
		assert.Equal(t, getinfo.StatusInternal, internal[0].Code)
		assert.NotContains(t, buf.String(), "250 OK", "no end line for a cut reply")
		// The same writer answers the next request whole.
		buf.Reset()
		require.NoError(t, rw.Write(&buf, m, []string{}))
		assert.Equal(t, "250 OK\r\n", buf.String())
	}
}
