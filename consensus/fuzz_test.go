package consensus_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/conninfo/conninfo/consensus"
)

func FuzzParse(f *testing.F) {
	f.Add(readFixture(f))
	f.Add([]byte(validDoc))
	f.Add([]byte(microdescDoc))
	for _, tt := range malformedCases() {
		f.Add([]byte(tt.doc))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := consensus.Parse(bytes.NewReader(data))
		if err != nil {
			// A bytes.Reader never fails, so every error is about the
			// document.
			if !errors.Is(err, consensus.ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			if c != nil {
				t.Fatalf("a Consensus with the error %q", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil Consensus and nil error")
		}

		var concat []byte
		auths := c.Authorities()
		i := 0 // Authorities is a subsequence of Routers
		for _, a := range auths {
			for i < len(c.Routers) && c.Routers[i].Text != a.Text {
				i++
			}
			if i == len(c.Routers) {
				t.Fatalf("authority %s is not among the routers, in order", a.Nickname)
			}
			if !a.HasFlag("Authority") {
				t.Fatalf("authority %s without the Authority flag", a.Nickname)
			}
			i++
			concat = append(concat, a.Text...)
		}
		n := 0
		for _, r := range c.Routers {
			if !strings.HasPrefix(r.Text, "r ") || !strings.HasSuffix(r.Text, "\n") {
				t.Fatalf("router %s: Text %q", r.Nickname, r.Text)
			}
			if r.Flags == nil {
				t.Fatalf("router %s: no s line", r.Nickname)
			}
			if r.HasFlag("Authority") {
				n++
			}
		}
		if n != len(auths) {
			t.Fatalf("%d routers flagged Authority, Authorities returns %d", n, len(auths))
		}
		if got := c.AppendAuthorities(nil); !bytes.Equal(got, concat) {
			t.Fatalf("AppendAuthorities = %q, want the authorities' Text %q", got, concat)
		}
		if got := c.AppendAuthorities([]byte("x")); !bytes.Equal(got, append([]byte("x"), concat...)) {
			t.Fatalf("AppendAuthorities with a prefix = %q", got)
		}
	})
}
