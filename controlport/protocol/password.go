package protocol

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The salted, iterated S2K of OpenPGP (RFC 4880, 3.7.1.3) that tor uses for
// HashedControlPassword: "16:" and the hex of an 8-byte salt, a count byte
// and the SHA-1 of (salt ‖ secret) repeated until count bytes are hashed.
const (
	s2kSaltLen  = 8
	s2kCountTor = 0x60 // what tor --hash-password writes: 65,536 bytes hashed
	s2kPrefix   = "16:"
)

// ErrBadHashedPassword is wrapped by the errors of [ParseHashedPassword].
var ErrBadHashedPassword = errors.New("protocol: invalid hashed password")

// HashedPassword is a parsed HashedControlPassword value.
type HashedPassword struct {
	salt  [s2kSaltLen]byte
	count byte
	hash  [sha1.Size]byte
}

// HashPassword hashes secret as tor --hash-password does, with a fresh
// random salt, and returns the "16:…" form that HashedControlPassword
// takes and [ParseHashedPassword] reads.
func HashPassword(secret string) string {
	var salt [s2kSaltLen]byte
	copy(salt[:], randomBytes(s2kSaltLen))
	h := HashedPassword{salt: salt, count: s2kCountTor, hash: s2k(salt, s2kCountTor, []byte(secret))}
	return h.String()
}

// ParseHashedPassword parses a HashedControlPassword value such as the
// output of tor --hash-password. Hex digits may be in either case.
func ParseHashedPassword(s string) (HashedPassword, error) {
	var h HashedPassword
	rest, ok := strings.CutPrefix(s, s2kPrefix)
	if !ok {
		return h, fmt.Errorf("%w: want %q and 58 hex digits", ErrBadHashedPassword, s2kPrefix)
	}
	b, err := hex.DecodeString(rest)
	if err != nil || len(b) != s2kSaltLen+1+sha1.Size {
		return h, fmt.Errorf("%w: want %q and 58 hex digits", ErrBadHashedPassword, s2kPrefix)
	}
	copy(h.salt[:], b)
	h.count = b[s2kSaltLen]
	copy(h.hash[:], b[s2kSaltLen+1:])
	return h, nil
}

// String returns the "16:…" form, in upper-case hex as tor writes it.
func (h HashedPassword) String() string {
	b := append(append(h.salt[:], h.count), h.hash[:]...)
	return s2kPrefix + strings.ToUpper(hex.EncodeToString(b))
}

// Matches reports whether secret hashes to h, in constant time.
func (h HashedPassword) Matches(secret []byte) bool {
	got := s2k(h.salt, h.count, secret)
	return subtle.ConstantTimeCompare(got[:], h.hash[:]) == 1
}

// s2k computes the iterated, salted hash.
func s2k(salt [s2kSaltLen]byte, c byte, secret []byte) [sha1.Size]byte {
	count := (16 + int(c&15)) << ((c >> 4) + 6)
	unit := append(salt[:], secret...)
	d := sha1.New()
	for count > 0 {
		n := min(count, len(unit))
		d.Write(unit[:n])
		count -= n
	}
	var out [sha1.Size]byte
	d.Sum(out[:0])
	return out
}
