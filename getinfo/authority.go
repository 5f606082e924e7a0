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

// HandleAuthorities mounts ns/authority on m, answered from src. A source
// error is sent as "551 Consensus unreadable", never as an empty value that
// would look like "no consensus".
func HandleAuthorities(m *Mux, src AuthoritySource) {
	m.HandleFunc("ns/authority", "Router-status entries of the directory authorities, from the cached consensus (proposal name).",
		func(dst []byte, _ string) ([]byte, error) {
			out, err := src.AppendAuthorities(dst)
			if err != nil {
				return dst, &Error{Code: StatusInternal, Text: "Consensus unreadable", Err: err}
			}
			return out, nil
		})
}

// HandleNames mounts info/names on m: every key m holds when asked,
// info/names itself included, in tor's format (see [AppendNames]).
func HandleNames(m *Mux) {
	m.HandleFunc("info/names", "Every GETINFO key answered here, one per line with its description; prefixes end in *.", func(dst []byte, _ string) ([]byte, error) {
		return AppendNames(dst, m.Names()), nil
	})
}
