package controlport_test

import (
	"io"
	"net"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// BenchmarkConnAllOverTCP times GETINFO conn/all end to end over a loopback
// control connection, from writing the request to reading "250 OK", with a
// client that reads bytes without decoding them.
func BenchmarkConnAllOverTCP(b *testing.B) {
	for _, conns := range []int{4000, 20000} {
		reg, _, err := connstatetest.BusyRelay(1, conns).Build()
		if err != nil {
			b.Fatal(err)
		}
		m := getinfo.NewMux()
		(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(m) // live: each answer formats every line
		srv, err := controlport.New(controlport.Config{Mux: m, NullAuth: true})
		if err != nil {
			b.Fatal(err)
		}
		l, err := srv.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		const end = "\r\n.\r\n250 OK\r\n"
		// read reads a reply to its end, keeping only the last bytes seen
		// (a window as long as the end): no copy of a read, no growing
		// buffer, as a client that streams the reply would.
		read := func() int {
			var window [len(end)]byte
			seen, total := 0, 0
			for {
				n, err := c.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				total += n
				if n >= len(window) {
					copy(window[:], buf[n-len(window):n])
				} else {
					copy(window[:], window[n:])
					copy(window[len(window)-n:], buf[:n])
				}
				seen += n
				if seen >= len(window) && string(window[:]) == end {
					return total
				}
			}
		}
		io.WriteString(c, "AUTHENTICATE\r\n")
		c.Read(buf)
		entries := len(reg.AppendEntries(nil))
		b.Run(map[int]string{4000: "20k", 20000: "100k"}[conns], func(b *testing.B) {
			var n int
			for b.Loop() {
				io.WriteString(c, "GETINFO conn/all\r\n")
				n = read()
			}
			b.ReportMetric(float64(entries), "entries")
			b.SetBytes(int64(n))
		})
		c.Close()
		srv.Close()
	}
}
