package connstate_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
)

func TestFlagsTextRoundTrip(t *testing.T) {
	n := 0
	for _, d := range []byte("IiOo") {
		for _, u := range []byte("CRXHD") {
			for _, net := range []byte("Tt") {
				s := string([]byte{d, u, net})
				f, err := connstate.ParseFlags(s)
				require.NoError(t, err, s)
				assert.True(t, f.Valid())
				assert.Equal(t, s, f.String())
				n++
			}
		}
	}
	assert.Equal(t, 40, n)
}

func TestParseFlagsErrors(t *testing.T) {
	for _, s := range []string{"", "I", "IR", "xRt", "IxT", "IRx", "iRT"[0:2], "\x00Rt"} {
		_, err := connstate.ParseFlags(s)
		assert.ErrorIs(t, err, connstate.ErrBadFlags, "%q", s)
	}
	f, err := connstate.ParseFlags("IRtXYZ")
	require.NoError(t, err, "characters after the third are for later versions")
	assert.Equal(t, "IRt", f.String())
}

func TestInvalidFlagsString(t *testing.T) {
	assert.Equal(t, "???", connstate.Flags{}.String())
	assert.Equal(t, "?Rt", connstate.Flags{Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}.String())
	assert.False(t, connstate.Flags{}.Valid())
}

func TestFingerprint(t *testing.T) {
	const hex = "9695DFC35FFEB861329B9F1AB04C46397020CE31"
	for _, s := range []string{hex, "$" + hex, "9695dfc35ffeb861329b9f1ab04c46397020ce31"} {
		fp, err := connstate.ParseFingerprint(s)
		require.NoError(t, err, s)
		assert.Equal(t, hex, fp.String())
	}
	zero, err := connstate.ParseFingerprint("0")
	require.NoError(t, err)
	assert.True(t, zero.IsZero())
	assert.Equal(t, "0", zero.String())
	for _, s := range []string{"", "$", hex[:39], hex + "0", "G" + hex[1:], "$$" + hex[2:]} {
		_, err := connstate.ParseFingerprint(s)
		assert.ErrorIs(t, err, connstate.ErrBadFingerprint, "%q", s)
	}
}

func TestEnumStrings(t *testing.T) {
	assert.Equal(t, "inbound", connstate.Inbound.String())
	assert.Equal(t, "Direction(0)", connstate.Direction(0).String())
	assert.Equal(t, "hidden-service", connstate.UsageHiddenService.String())
	assert.Equal(t, "Usage(9)", connstate.Usage(9).String())
	assert.Equal(t, "outside", connstate.NetworkOutside.String())
	assert.Equal(t, "Network(3)", connstate.Network(3).String())
	assert.Equal(t, "exit", connstate.RoleExit.String())
	assert.Equal(t, "Role(0)", connstate.Role(0).String())
}

// AppendText's hand-made hex agrees with the standard library's.
func TestFingerprintAppendTextIsHex(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var fp connstate.Fingerprint
		copy(fp[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "fp"))
		want := strings.ToUpper(hex.EncodeToString(fp[:]))
		if fp.IsZero() {
			want = "0"
		}
		if got := string(fp.AppendText([]byte("prefix"))); got != "prefix"+want {
			t.Fatalf("AppendText = %q, want prefix%s", got, want)
		}
	})
	for _, b := range []byte{0x00, 0x09, 0x0a, 0x9f, 0xa0, 0xff} {
		var fp connstate.Fingerprint
		for i := range fp {
			fp[i] = b + byte(i)
		}
		assert.Equal(t, strings.ToUpper(hex.EncodeToString(fp[:])), fp.String())
	}
}
