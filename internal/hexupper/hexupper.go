package hexupper

import "encoding/binary"

// Put20 writes the 40 upper-case hex digits of src into dst[:40], eight
// at a time: a relay fingerprint, read in place.
func Put20(dst []byte, src *[20]byte) {
	dst = dst[:40]
	binary.BigEndian.PutUint64(dst[0:], Digits8(binary.BigEndian.Uint32(src[0:])))
	binary.BigEndian.PutUint64(dst[8:], Digits8(binary.BigEndian.Uint32(src[4:])))
	binary.BigEndian.PutUint64(dst[16:], Digits8(binary.BigEndian.Uint32(src[8:])))
	binary.BigEndian.PutUint64(dst[24:], Digits8(binary.BigEndian.Uint32(src[12:])))
	binary.BigEndian.PutUint64(dst[32:], Digits8(binary.BigEndian.Uint32(src[16:])))
}

// Digits8 turns the four bytes of u into eight upper-case hex digits, the
// most significant first when the result is stored big-endian: it spreads
// the nibbles one per byte, then adds '0', and 7 more to those from 10 up,
// to reach 'A'.
func Digits8(u uint32) uint64 {
	x := uint64(u)
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
	return x + 0x3030303030303030 + letters*7
}
