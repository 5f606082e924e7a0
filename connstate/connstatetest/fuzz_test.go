package connstatetest_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
)

// FuzzParseFixture: the loader never panics; what it parses writes back to
// text it parses again to the same fixture, and builds a registry or fails
// with ErrFixture.
func FuzzParseFixture(f *testing.F) {
	for _, s := range []string{
		"conn 17 ORT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 lport=51622 read=1048576 written=524288 age=1h\n",
		"conn 23 IRt remote=[2001:db8::1]:443 age=42\ncirc 1041\nleg 1041 in 23 read=3 written=4\n",
		"conn 1 IRt closed\nconn 1 ORt\n", "circ 4\nleg 4 exit 9\n", "# comment\n\n", "conn 1 IRt age=-1h\n",
		"conn 1 IRt remote=[fe80::1%eth0]:1\n", "conn 18446744073709551615 oXt\nconn 1 iHt\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fx, err := connstatetest.ParseFixture(bytes.NewReader([]byte(text)))
		if err != nil {
			if !errors.Is(err, connstatetest.ErrFixture) {
				t.Fatalf("ParseFixture(%q): %v does not wrap ErrFixture", text, err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := fx.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := connstatetest.ParseFixture(&buf)
		if err != nil {
			t.Fatalf("ParseFixture(%q) wrote %q, which does not parse: %v", text, buf.String(), err)
		}
		if !reflect.DeepEqual(normalise(again), normalise(fx)) {
			t.Fatalf("round trip of %q changed the fixture:\n%+v\n%+v", text, fx, again)
		}
		if _, _, err := fx.Build(); err != nil && !errors.Is(err, connstatetest.ErrFixture) {
			t.Fatalf("Build(%q): %v does not wrap ErrFixture", text, err)
		}
	})
}

// normalise makes empty slices nil, which WriteTo cannot tell apart.
func normalise(f *connstatetest.Fixture) *connstatetest.Fixture {
	g := *f
	if len(g.Conns) == 0 {
		g.Conns = nil
	}
	g.Circuits = append([]connstatetest.Circuit(nil), f.Circuits...)
	for i := range g.Circuits {
		if len(g.Circuits[i].Legs) == 0 {
			g.Circuits[i].Legs = nil
		}
	}
	if len(g.Circuits) == 0 {
		g.Circuits = nil
	}
	return &g
}
