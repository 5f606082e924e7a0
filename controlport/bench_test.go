package controlport_test

import (
	"bytes"
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
		end := []byte("\r\n.\r\n250 OK\r\n")
		read := func() int {
			var tail []byte
			total := 0
			for {
				n, err := c.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				total += n
				tail = append(tail, buf[:n]...)
				if len(tail) > len(end) {
					tail = tail[len(tail)-len(end):]
				}
				if bytes.Equal(tail, end) {
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
