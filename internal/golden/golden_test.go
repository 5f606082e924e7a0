package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiff(t *testing.T) {
	d := Diff([]byte("250-a=1\r\n250 OK\r\n"), []byte("250-a=2\r\n250 OK\r\n"))
	assert.Equal(t, "line 1:\n  want \"250-a=1\\r\\n\"\n  got  \"250-a=2\\r\\n\"\n", d)

	d = Diff([]byte("x\n"), []byte("x\ny"))
	assert.Equal(t, "line 2:\n  want (none)\n  got  \"y\"\n", d)

	assert.Empty(t, Diff([]byte("same\r\n"), []byte("same\r\n")))
}

func TestCompareUpdate(t *testing.T) {
	old := *update
	t.Cleanup(func() { *update = old })
	path := filepath.Join(t.TempDir(), "sub", "x.golden")

	*update = true
	Compare(t, path, []byte("250 OK\r\n"))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "250 OK\r\n", string(b))

	*update = false
	Compare(t, path, []byte("250 OK\r\n"))
}

func TestCompareMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	require.NoError(t, os.WriteFile(path, []byte("a\r\n"), 0o644))
	old := *update
	t.Cleanup(func() { *update = old })
	*update = false

	rec := &recorder{TB: t}
	Compare(rec, path, []byte("b\r\n"))
	assert.True(t, rec.failed, "a mismatch must fail the test")
}

// recorder notes a failure instead of failing the real test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
