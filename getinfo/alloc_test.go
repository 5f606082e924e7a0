package getinfo_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/getinfo"
)

func TestWriteReplyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	m := newTestMux()
	tests := []struct {
		name string
		keys []string
		max  float64
	}{
		{"three keys", []string{"version", "uptime", "ns/all"}, 0},
		{"escaped key", []string{"version", "ns/a\rb", "uptime"}, 0},
		{"no keys", nil, 0},
		{"one data block", []string{"version", "config-text", "uptime"}, 0},
		// Unrecognized keys and errors build a *Error with its text.
		{"unrecognized", []string{"version", "nosuchkey"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(200, func() {
				if err := getinfo.WriteReply(io.Discard, m, tt.keys); err != nil {
					t.Fatal(err)
				}
			})
			assert.LessOrEqual(t, allocs, tt.max)
		})
	}
}

func TestMuxAnswerAllocs(t *testing.T) {
	m := newTestMux()
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(200, func() {
		buf, _ = m.Answer(buf[:0], "version")
		buf, _ = m.Answer(buf[:0], "ns/id/x")
	})
	assert.Zero(t, allocs)
}

func BenchmarkWriteReply(b *testing.B) {
	m := newTestMux()
	for _, bc := range []struct {
		name string
		keys []string
	}{
		{"3keys", []string{"version", "uptime", "ns/all"}},
		{"datablock", []string{"config-text"}},
		{"552", []string{"version", "nosuchkey"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := getinfo.WriteReply(io.Discard, m, bc.keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteReplyParallel(b *testing.B) {
	m := newTestMux()
	keys := []string{"version", "uptime", "ns/all"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := getinfo.WriteReply(io.Discard, m, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
}
