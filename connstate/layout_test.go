package connstate

import (
	"testing"
	"unsafe"
)

// TestLayout keeps Conn at 128 bytes with what a snapshot reads in its first
// 64, Leg's counters first, and Circuit within the 80-byte size class: the
// benchmarks' figures (and the 128 bytes a leg may cost) depend on it.
func TestLayout(t *testing.T) {
	var c Conn
	if got := unsafe.Sizeof(c); got != 128 {
		t.Errorf("Conn is %d bytes, want 128", got)
	}
	if end := unsafe.Offsetof(c.closedGen) + unsafe.Sizeof(c.closedGen); end > 64 {
		t.Errorf("a snapshot's fields end at byte %d, past the first cache line", end)
	}
	if off := unsafe.Offsetof(c.read); off < 64 {
		t.Errorf("the hot counters start at byte %d, inside the snapshot's line", off)
	}
	if got := unsafe.Sizeof(Leg{}); got != 64 {
		t.Errorf("Leg is %d bytes, want 64", got)
	}
	if got := unsafe.Sizeof(Circuit{}); got > 80 {
		t.Errorf("Circuit is %d bytes, want at most 80", got)
	}
}
