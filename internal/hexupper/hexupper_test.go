package hexupper

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// Digits8 writes what encoding/hex writes, upper-cased, for any word.
func TestDigits8(t *testing.T) {
	check := func(t assert.TestingT, u uint32) {
		var word, want [8]byte
		binary.BigEndian.PutUint64(word[:], Digits8(u))
		var raw [4]byte
		binary.BigEndian.PutUint32(raw[:], u)
		hex.Encode(want[:], raw[:])
		assert.Equal(t, strings.ToUpper(string(want[:])), string(word[:]), "%#08x", u)
	}
	for _, u := range []uint32{0, 1, 9, 10, 15, 16, 0x9a, 0xff, 0x0123_4567, 0x89ab_cdef, 0xffff_ffff} {
		check(t, u)
	}
	rapid.Check(t, func(t *rapid.T) { check(t, rapid.Uint32().Draw(t, "u")) })
}

// Put20 writes what encoding/hex writes, upper-cased, for any 20 bytes,
// and nothing past its 40 digits.
func TestPut20(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var src [20]byte
		copy(src[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "src"))
		dst := []byte(strings.Repeat("z", 48))
		Put20(dst, &src)
		assert.Equal(t, strings.ToUpper(hex.EncodeToString(src[:])), string(dst[:40]))
		assert.Equal(t, "zzzzzzzz", string(dst[40:]))
	})
}
