package getinfo_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/getinfo"
)

// torNamesReply is tor 0.4.9.11's whole reply to GETINFO info/names.
const torNamesReply = "../testdata/reply/tor-0.4.9.11-info-names.txt"

// TestNamesMatchTor registers tor's table in random order and checks that the
// info/names reply is byte-exact with tor's.
func TestNamesMatchTor(t *testing.T) {
	want, err := os.ReadFile(torNamesReply)
	require.NoError(t, err)
	body, ok := bytes.CutPrefix(want, []byte("250+info/names=\r\n"))
	require.True(t, ok)
	body, ok = bytes.CutSuffix(body, []byte("\r\n.\r\n250 OK\r\n"))
	require.True(t, ok)

	var names []getinfo.Name
	for line := range strings.SplitSeq(string(body), "\r\n") {
		key, doc, ok := strings.Cut(line, " -- ")
		require.True(t, ok, line)
		prefix, isPrefix := strings.CutSuffix(key, "*")
		if isPrefix {
			key = prefix
		}
		names = append(names, getinfo.Name{Key: key, Prefix: isPrefix, Doc: doc})
	}
	require.Len(t, names, 109)

	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 0))
		m := getinfo.NewMux()
		for _, i := range r.Perm(len(names)) {
			n := names[i]
			h := value("unused")
			if n.Key == "info/names" {
				h = func(dst []byte, _ string) ([]byte, error) { return getinfo.AppendNames(dst, m.Names()), nil }
			}
			if n.Prefix {
				m.HandlePrefix(n.Key, n.Doc, h)
			} else {
				m.Handle(n.Key, n.Doc, h)
			}
		}
		assert.Equal(t, names, m.Names(), "seed %d", seed)

		var buf bytes.Buffer
		require.NoError(t, getinfo.WriteReply(&buf, m, []string{"info/names"}))
		assert.Equal(t, string(want), buf.String(), "seed %d", seed)
	}
}

func TestAppendNames(t *testing.T) {
	assert.Empty(t, getinfo.AppendNames(nil, nil))
	names := []getinfo.Name{
		{Key: "address", Doc: "IP address."},
		{Key: "config/", Prefix: true, Doc: "Configuration."},
	}
	assert.Equal(t, "x:address -- IP address.\nconfig/* -- Configuration.",
		string(getinfo.AppendNames([]byte("x:"), names)), "no trailing newline")
}

func TestNamesSortWholeLine(t *testing.T) {
	m := getinfo.NewMux()
	h := value("")
	m.Handle("address/v4", "v4", h)
	m.HandlePrefix("address-mappings/", "mappings", h)
	m.Handle("address", "IP", h)
	m.HandlePrefix("hs/client/desc/id", "by onion", h)
	m.Handle("hs/client/desc/id/x", "exact", h)
	m.Handle("a*", "same", h)
	m.HandlePrefix("a", "same", h)
	got := string(getinfo.AppendNames(nil, m.Names()))
	assert.Equal(t, strings.Join([]string{
		"a* -- same", // the exact key first, then the prefix that renders alike
		"a* -- same",
		"address -- IP",
		"address-mappings/* -- mappings",
		"address/v4 -- v4",
		"hs/client/desc/id* -- by onion",
		"hs/client/desc/id/x -- exact",
	}, "\n"), got)
	names := m.Names()
	assert.False(t, names[0].Prefix)
	assert.True(t, names[1].Prefix)
}
