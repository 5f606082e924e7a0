package decimal

// ParseUint64 parses s as a canonical decimal uint64.
func ParseUint64[T string | []byte](s T) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		// Nineteen digits cannot overflow; only a twentieth can: n*10+d
		// overflows exactly when n > (max-d)/10. (A division per digit
		// would cost most of a conn/all decode.)
		if i == 19 && n > (^uint64(0)-uint64(d))/10 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	return n, true
}
