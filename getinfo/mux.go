package getinfo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Mux routes GETINFO keys to handlers, like tor's GETINFO table: exact keys
// and prefix keys, each with the description info/names shows.
//
// A key is matched first against the exact keys, case-sensitively, then
// against the longest registered prefix that it starts with; otherwise it is
// unrecognized. Tor instead takes the first match in its table order; the
// answers are the same, except that here they do not depend on the order of
// registration.
//
// The zero Mux is empty and ready to use. A Mux is itself a [Handler], so
// muxes compose. It is safe for concurrent use, registration included.
type Mux struct {
	mu       sync.RWMutex
	exact    map[string]entry
	prefixes []entry // longest first, so the first match is the longest
}

// entry is one registration.
type entry struct {
	key string
	doc string
	h   Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return new(Mux) }

// Handle registers h for the exact key, described by doc in info/names.
//
// Like http.ServeMux, Handle panics on a programmer error: a key registered
// twice, an empty key, a key holding a byte that is not printable ASCII
// (<= 0x20, 0x7F, >= 0x80), a nil handler, or a doc that is empty or holds a
// control byte (which would break info/names).
func (m *Mux) Handle(key, doc string, h Handler) { m.register(key, doc, h, false) }

// HandleFunc registers f for the exact key, as [Mux.Handle] does.
func (m *Mux) HandleFunc(key, doc string, f func([]byte, string) ([]byte, error)) {
	m.register(key, doc, HandlerFunc(f), false)
}

// HandlePrefix registers h for every key that starts with prefix, described
// by doc in info/names, where it is shown as prefix followed by "*". The
// handler receives the full key and may decline it with [ErrUnrecognized],
// as tor does for a bare prefix such as "config/". HandlePrefix panics as
// [Mux.Handle] does; a prefix may also be an exact key.
func (m *Mux) HandlePrefix(prefix, doc string, h Handler) { m.register(prefix, doc, h, true) }

// HandlePrefixFunc registers f for a prefix, as [Mux.HandlePrefix] does.
func (m *Mux) HandlePrefixFunc(prefix, doc string, f func([]byte, string) ([]byte, error)) {
	m.register(prefix, doc, HandlerFunc(f), true)
}

// AppendInfo appends the value of key from the handler that matches it, or
// returns dst and [ErrUnrecognized] if none does. Errors and panics of the
// handler pass through as they are: see [Mux.Answer] for what a controller
// sees.
func (m *Mux) AppendInfo(dst []byte, key string) ([]byte, error) {
	h := m.lookup(key)
	if h == nil {
		return dst, ErrUnrecognized
	}
	return h.AppendInfo(dst, key)
}

// Answer is like [Mux.AppendInfo], but any error is a *[Error] with the code
// and text that a controller is sent, and the handler's error in Err. A
// panicking handler gives a 551 Internal error, so that a hostile key cannot
// crash the relay. On error, dst is returned with its length unchanged.
func (m *Mux) Answer(dst []byte, key string) ([]byte, error) {
	out, e := answer(m, dst, key)
	if e != nil {
		return out, e
	}
	return out, nil
}

// lookup returns the handler for key, or nil. The lock is not held while the
// handler runs, so a handler may register keys.
func (m *Mux) lookup(key string) Handler {
	if m == nil {
		return nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if e, ok := m.exact[key]; ok {
		return e.h
	}
	for _, e := range m.prefixes {
		if strings.HasPrefix(key, e.key) {
			return e.h
		}
	}
	return nil
}

func (m *Mux) register(key, doc string, h Handler, prefix bool) {
	what := "key"
	if prefix {
		what = "prefix"
	}
	if f, ok := h.(HandlerFunc); h == nil || ok && f == nil {
		panic(fmt.Sprintf("getinfo: nil handler for %s %q", what, key))
	}
	if err := checkName(key, doc); err != "" {
		panic(fmt.Sprintf("getinfo: %s %q: %s", what, key, err))
	}
	e := entry{key: key, doc: doc, h: h}

	m.mu.Lock()
	defer m.mu.Unlock()
	if !prefix {
		if _, dup := m.exact[key]; dup {
			panic(fmt.Sprintf("getinfo: key %q registered twice", key))
		}
		if m.exact == nil {
			m.exact = make(map[string]entry)
		}
		m.exact[key] = e
		return
	}
	// Equal lengths never both match one key, so their order is free.
	i, _ := slices.BinarySearchFunc(m.prefixes, len(key), func(p entry, n int) int {
		return cmp.Compare(n, len(p.key))
	})
	for _, p := range m.prefixes[i:] {
		if len(p.key) != len(key) {
			break
		}
		if p.key == key {
			panic(fmt.Sprintf("getinfo: prefix %q registered twice", key))
		}
	}
	m.prefixes = slices.Insert(m.prefixes, i, e)
}

// checkName says what is wrong with a key and its doc, or returns "".
func checkName(key, doc string) string {
	if key == "" {
		return "empty"
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= 0x20 || c >= 0x7f {
			return fmt.Sprintf("byte %#02x at %d is not printable ASCII", c, i)
		}
	}
	if doc == "" {
		return "empty doc"
	}
	for i := 0; i < len(doc); i++ {
		if c := doc[i]; c < 0x20 || c == 0x7f {
			return fmt.Sprintf("doc holds control byte %#02x at %d", c, i)
		}
	}
	return ""
}
