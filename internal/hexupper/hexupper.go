package hexupper

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
