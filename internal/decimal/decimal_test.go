package decimal

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestParseUint64(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"1041", 1041, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"100000000000000000000", 0, false},
		{"", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"0x10", 0, false},
		{"١", 0, false}, // an Arabic-Indic digit is not a digit here
	}
	for _, tt := range tests {
		got, ok := ParseUint64(tt.in)
		assert.Equal(t, tt.ok, ok, "ParseUint64(%q) ok", tt.in)
		assert.Equal(t, tt.want, got, "ParseUint64(%q)", tt.in)
	}
}

func TestParseUint64MatchesStrconv(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Uint64().Draw(t, "n")
		got, ok := ParseUint64(strconv.FormatUint(n, 10))
		assert.True(t, ok)
		assert.Equal(t, n, got)
	})
}

func FuzzParseUint64(f *testing.F) {
	for _, s := range []string{"0", "01", "18446744073709551615", "18446744073709551616", "-0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseUint64(s)
		if !ok {
			return
		}
		if strconv.FormatUint(n, 10) != s {
			t.Fatalf("ParseUint64(%q) = %d, not canonical", s, n)
		}
	})
}
