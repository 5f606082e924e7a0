package getinfo

import (
	"cmp"
	"slices"
	"strings"
)

// Name describes one registered key for info/names.
type Name struct {
	Key    string // the key, or the prefix if Prefix is set
	Prefix bool   // Key is a prefix, shown as Key followed by "*"
	Doc    string // the description
}

// Names returns the registered keys, sorted as tor sorts info/names: bytewise
// over each whole rendered line, "<key> -- <doc>".
func (m *Mux) Names() []Name {
	if m == nil {
		return nil
	}
	m.mu.RLock()
	names := make([]Name, 0, len(m.exact)+len(m.prefixes))
	for _, e := range m.exact {
		names = append(names, Name{Key: e.key, Doc: e.doc})
	}
	for _, e := range m.prefixes {
		names = append(names, Name{Key: e.key, Prefix: true, Doc: e.doc})
	}
	m.mu.RUnlock()

	type line struct {
		text string
		name Name
	}
	lines := make([]line, len(names))
	for i, n := range names {
		lines[i] = line{string(appendName(nil, n)), n}
	}
	// A prefix "a" and an exact "a*" with one doc render alike: break the tie.
	slices.SortFunc(lines, func(a, b line) int {
		return cmp.Or(strings.Compare(a.text, b.text), cmp.Compare(bit(a.name.Prefix), bit(b.name.Prefix)))
	})
	for i, l := range lines {
		names[i] = l.name
	}
	return names
}

// AppendNames appends the info/names value for names, in the order given
// ([Mux.Names] sorts them): one "<key> -- <doc>" line each, a prefix shown as
// "<prefix>*", joined by "\n" with no trailing newline.
func AppendNames(dst []byte, names []Name) []byte {
	for i, n := range names {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = appendName(dst, n)
	}
	return dst
}

func appendName(dst []byte, n Name) []byte {
	dst = append(dst, n.Key...)
	if n.Prefix {
		dst = append(dst, '*')
	}
	dst = append(dst, " -- "...)
	return append(dst, n.Doc...)
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}
