package getinfo

// AuthoritySource supplies the router-status entries of the directory
// authorities for ns/authority. Package consensus reads them from a cached
// consensus document.
type AuthoritySource interface {
	// AppendAuthorities appends the entries to dst, each ending in "\n", as
	// tor concatenates router-status entries for ns/all. With no consensus
	// it appends nothing and returns no error; a consensus it cannot read is
	// an error.
	AppendAuthorities(dst []byte) ([]byte, error)
}

// Authorities is the family of ns/authority. A source error is sent as
// "551 Consensus unreadable", never as an empty value that would look like
// "no consensus".
type Authorities struct {
	// Source supplies the entries; without it, Register mounts nothing.
	Source AuthoritySource
}

// Register mounts ns/authority on m, if Source is set.
func (a *Authorities) Register(m *Mux) {
	src := a.Source
	if src == nil {
		return
	}
	m.HandleFunc("ns/authority", "Router-status entries of the directory authorities, from the cached consensus (proposal name).",
		func(dst []byte, _ string) ([]byte, error) {
			out, err := src.AppendAuthorities(dst)
			if err != nil {
				return dst, &Error{Code: StatusInternal, Text: "Consensus unreadable", Err: err}
			}
			return out, nil
		})
}

// InfoNames is the family of info/names: every key the Mux holds when
// asked, info/names itself included, in tor's format (see [AppendNames]).
type InfoNames struct{}

// Register mounts info/names on m.
func (*InfoNames) Register(m *Mux) {
	m.HandleFunc("info/names", "Every GETINFO key answered here, one per line with its description; prefixes end in *.", func(dst []byte, _ string) ([]byte, error) {
		return AppendNames(dst, m.Names()), nil
	})
}
