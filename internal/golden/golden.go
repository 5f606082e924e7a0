package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// maxDiffLines bounds how many differing lines a failure shows.
const maxDiffLines = 20

// Compare checks got against the golden file at path. With -update it writes
// got to path instead, creating directories as needed.
func Compare(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run the test with -update to create it")
	if !bytes.Equal(got, want) {
		assert.Fail(t, "output differs from golden file "+path+" (run with -update to rewrite it)", Diff(want, got))
	}
}

// Diff lists, line by line, where want and got differ. Each line is quoted,
// its end included, so that CR, LF and other invisible bytes show.
func Diff(want, got []byte) string {
	w, g := lines(want), lines(got)
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)); i++ {
		wl, gl := at(w, i), at(g, i)
		if wl == gl {
			continue
		}
		if shown == maxDiffLines {
			b.WriteString("...\n")
			break
		}
		shown++
		fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
	}
	return b.String()
}

// lines splits b after each LF and quotes each piece.
func lines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		out = append(out, strconv.Quote(string(b[:i])))
		b = b[i:]
	}
	return out
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}
