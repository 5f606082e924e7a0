package getinfo

import "github.com/conninfo/conninfo/internal/torspace"

// SplitKeys splits the arguments of a GETINFO command into keys, as tor
// does: on the space byte only, ignoring runs of spaces, and trimming other
// whitespace (TAB, CR, LF, VT, FF) from each key's ends, so that
// "version\tuptime" is one key but "version\r" is "version". It returns nil
// if there is no key.
func SplitKeys(args string) []string {
	return AppendSplitKeys(nil, args)
}

// AppendSplitKeys is like [SplitKeys] but appends the keys to dst, so that a
// caller may reuse one slice. The keys share args' memory.
func AppendSplitKeys(dst []string, args string) []string {
	return torspace.AppendWords(dst, args)
}
