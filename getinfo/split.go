package getinfo

import "strings"

// SplitKeys splits the arguments of a GETINFO command into keys, as tor
// does: on the space byte only, ignoring runs of spaces, so that a TAB stays
// inside a key. It returns nil if there is no key.
func SplitKeys(args string) []string {
	return AppendSplitKeys(nil, args)
}

// AppendSplitKeys is like [SplitKeys] but appends the keys to dst, so that a
// caller may reuse one slice. The keys share args' memory.
func AppendSplitKeys(dst []string, args string) []string {
	for args != "" {
		i := strings.IndexByte(args, ' ')
		if i < 0 {
			return append(dst, args)
		}
		if i > 0 {
			dst = append(dst, args[:i])
		}
		args = args[i+1:]
	}
	return dst
}
