package getinfo

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
)

// FuzzConnKey checks the conn/<circ>/<conn> parser: it accepts exactly the
// canonical spelling of two uint64s, and the handler answers any key with a
// line or ErrUnrecognized, never anything else and never a panic.
func FuzzConnKey(f *testing.F) {
	for _, k := range []string{
		"conn/all", "conn/0/1", "conn/1041/23", "conn/00/1", "conn/0/01", "conn/+0/1", "conn/-0/1", "conn/0/1/",
		"conn/", "conn//", "conn/0/18446744073709551615", "conn/0/18446744073709551616", "conn/0/1\x00", "conn/0/ 1",
		"conn/\xff/1", "Conn/0/1", "conn/0/1\r",
	} {
		f.Add(k)
	}
	reg, _, err := connstatetest.Load(strings.NewReader("conn 1 IRt remote=198.51.100.1:4000 lport=9001 read=5 age=3\ncirc 1\nleg 1 in 1 read=1"))
	if err != nil {
		f.Fatal(err)
	}
	h := &Conns{Source: reg}
	f.Fuzz(func(t *testing.T, key string) {
		circ, conn, ok := parseConnKey(key)
		canonical := "conn/" + strconv.FormatUint(circ, 10) + "/" + strconv.FormatUint(conn, 10)
		if ok != (key == canonical) {
			t.Fatalf("parseConnKey(%q) = %d, %d, %v", key, circ, conn, ok)
		}
		v, err := h.AppendInfo(nil, key)
		switch {
		case err == nil && key != ConnAllKey && (!ok || strings.Count(string(v), " ") != 8):
			t.Fatalf("AppendInfo(%q) = %q", key, v)
		case err != nil && !errors.Is(err, ErrUnrecognized):
			t.Fatalf("AppendInfo(%q): %v", key, err)
		}
	})
}
