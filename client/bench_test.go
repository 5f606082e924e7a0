package client_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cretz/bine/control"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// cannedServer answers PROTOCOLINFO and AUTHENTICATE for NULL
// authentication, and every GETINFO with reply: the client's cost alone,
// the server's taken out.
func cannedServer(tb testing.TB, reply []byte) string {
	tb.Helper()
	return answeringServer(tb, func(w io.Writer) { w.Write(reply) })
}

// answeringServer is cannedServer answering every GETINFO with getInfo.
func answeringServer(tb testing.TB, getInfo func(w io.Writer)) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Go(func() {
				r := bufio.NewReader(nc)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch {
					case strings.HasPrefix(line, "PROTOCOLINFO"):
						io.WriteString(nc, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n")
					case strings.HasPrefix(line, "GETINFO"):
						getInfo(nc)
					default:
						io.WriteString(nc, "250 OK\r\n")
					}
				}
			})
		}
	})
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// busyReply is a reply to GETINFO conn/all of n lines: the first n of a
// busy relay's, in the test-network tier.
func busyReply(tb testing.TB, n int) []byte {
	tb.Helper()
	reg, _, err := connstatetest.BusyRelay(1, n).Build()
	require.NoError(tb, err)
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(m)
	v, err := m.AppendInfo(nil, "conn/all")
	require.NoError(tb, err)
	lines := bytes.SplitN(v, []byte{'\n'}, n+1)
	require.Greater(tb, len(lines), n)
	lines = lines[:n]
	var buf bytes.Buffer
	buf.WriteString("250+conn/all=\r\n")
	buf.Write(bytes.Join(lines, []byte("\r\n")))
	buf.WriteString("\r\n.\r\n250 OK\r\n")
	return buf.Bytes()
}

// BenchmarkConnAll reads a conn/all of 20,000 lines three ways, in
// interleaved rounds on the same reply: the raw bytes up to "250 OK"; read
// and decoded into entries by client.ConnAll; and bine's GetInfo, which
// returns the text undecoded. It reports the median of each and the
// ratios; the targets are decoded/raw ≤ 1.3 and bine/decoded ≥ 5.
func BenchmarkConnAll(b *testing.B) {
	reply := busyReply(b, 20000)
	lines := bytes.Count(reply, []byte("\r\n")) - 3
	addr := cannedServer(b, reply)

	raw, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	defer raw.Close()
	rawR := bufio.NewReaderSize(raw, 64<<10)
	buf := make([]byte, 64<<10)
	readRaw := func() {
		io.WriteString(raw, "GETINFO conn/all\r\n")
		var tail []byte
		for !bytes.HasSuffix(tail, []byte("\r\n250 OK\r\n")) {
			n, err := rawR.Read(buf)
			require.NoError(b, err)
			tail = append(tail[:0], buf[max(0, n-16):n]...)
		}
	}

	c, err := client.Dial(context.Background(), addr, client.Options{})
	require.NoError(b, err)
	defer c.Close()
	decode := func() {
		entries, err := c.ConnAll(context.Background())
		require.NoError(b, err)
		require.Len(b, entries, lines)
	}

	var buf2 []connstate.Entry
	reuse := func() {
		var err error
		buf2, err = c.AppendConnAll(context.Background(), buf2[:0])
		require.NoError(b, err)
		require.Len(b, buf2, lines)
	}

	nc, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	bc := control.NewConn(textproto.NewConn(nc))
	defer bc.Close()
	viaBine := func() {
		vals, err := bc.GetInfo("conn/all")
		require.NoError(b, err)
		require.Len(b, vals, 1)
	}

	var rawT, decT, reuseT, bineT []time.Duration
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	b.ReportAllocs()
	for b.Loop() {
		rawT = append(rawT, timed(readRaw))
		decT = append(decT, timed(decode))
		reuseT = append(reuseT, timed(reuse))
		bineT = append(bineT, timed(viaBine))
	}
	med := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2])
	}
	b.ReportMetric(med(rawT)/1e6, "raw-ms")
	b.ReportMetric(med(decT)/1e6, "decoded-ms")
	b.ReportMetric(med(reuseT)/1e6, "reused-ms")
	b.ReportMetric(med(bineT)/1e6, "bine-ms")
	b.ReportMetric(med(decT)/med(rawT), "decoded/raw")
	b.ReportMetric(med(bineT)/med(decT), "bine/decoded")
	b.ReportMetric(med(reuseT)/med(rawT), "reused/raw")
	b.ReportMetric(med(bineT)/med(reuseT), "bine/reused")
}
