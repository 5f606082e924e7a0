package hostile

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heapInuse returns the heap in use after a garbage collection.
func heapInuse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// NeverReads has a controller send 500 GETINFOs of 1,000 keys each (a
// reply of some 350 KB each, about 175 MB in all) and never read. Other
// controllers must still be served promptly. With lim.WriteTimeout set, the
// server must close the stuck connection within WriteTimeout (plus slack):
// draining it then ends in EOF or a reset, well before the replies it
// asked for. With lim.SameProcess, the server's heap in use, after a GC,
// must not grow by more than maxHeapGrowth while it is stuck, nor once it
// is gone.
func NeverReads(t testing.TB, addr string, auth controlporttest.Auth, lim Limits) {
	const (
		requests = 500
		keys     = 1000
		// maxHeapGrowth: a server that buffered what the stuck controller
		// asked for would hold some 175 MB. One that does not holds a reply
		// in progress (a few hundred KB here), its connection buffers (tens
		// of KB), and at most getinfo.MaxRetained (1 MiB) of reply buffers
		// kept for reuse; 64 MiB leaves room for the test's own
		// allocations, and is well under what buffering would take.
		maxHeapGrowth = 64 << 20
	)
	line := "GETINFO" + strings.Repeat(" events/names", keys) + "\r\n"
	var before int64
	if lim.SameProcess {
		before = heapInuse()
	}

	stuck := controlporttest.Dial(t, "tcp", addr)
	stuck.Authenticate(auth)
	var wg sync.WaitGroup
	var sent atomic.Int64
	defer wg.Wait()
	defer stuck.Close()
	require.NoError(t, stuck.Conn.SetWriteDeadline(time.Now().Add(30*time.Second)))
	asked := time.Now()
	wg.Go(func() {
		for range requests {
			if _, err := io.WriteString(stuck.Conn, line); err != nil {
				return // closed by the server, or by us
			}
			sent.Add(1)
		}
	})

	for round := range 3 {
		sub(t, fmt.Sprintf("served meanwhile %d", round), func(t testing.TB) { Served(t, addr, auth) })
		time.Sleep(100 * time.Millisecond)
	}
	// The server did answer it: replies have arrived (a peek reads at
	// most 64 KiB of them, far from enough to let the server go on).
	require.NoError(t, stuck.Conn.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err := stuck.Reader().Peek(1)
	require.NoError(t, err, "the stuck controller got no reply at all")
	if lim.SameProcess {
		during := heapInuse()
		t.Logf("heap in use: %d MiB before, %d MiB while a controller is stuck (%d requests sent)", before>>20, during>>20, sent.Load())
		assert.Less(t, during-before, int64(maxHeapGrowth), "heap growth while a controller is stuck")
	}

	sub(t, "closed after WriteTimeout", func(t testing.TB) {
		if lim.WriteTimeout == 0 {
			t.Skip("WriteTimeout unknown or too long to wait for")
		}
		time.Sleep(time.Until(asked.Add(lim.WriteTimeout + 2*time.Second)))
		// The server has given up by now: draining what the kernel holds
		// must end in a close, long before all that was asked.
		const limit = 64 << 20
		require.NoError(t, stuck.Conn.SetReadDeadline(time.Now().Add(ioTimeout)))
		var got int64
		var err error
		b := make([]byte, 256<<10)
		for got < limit && err == nil {
			var k int
			k, err = stuck.Reader().Read(b)
			got += int64(k)
		}
		require.True(t, controlporttest.IsClosed(err), "stuck connection still open %v after asking: read %d bytes, then %v", time.Since(asked), got, err)
		t.Logf("stuck connection closed by the server; %d bytes were in flight, %d of %d requests sent", got, sent.Load(), requests)
	})
	stuck.Close() // if the server still holds it, its write now fails
	wg.Wait()
	Served(t, addr, auth)

	if lim.SameProcess {
		after := heapInuse()
		t.Logf("heap in use once it is gone: %d MiB", after>>20)
		assert.Less(t, after-before, int64(maxHeapGrowth), "heap growth after a stuck controller")
	}
}
