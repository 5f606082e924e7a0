package consensus_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/consensus"
)

// mtime is a fixed modification time; tests step it explicitly so that a
// rewrite never depends on the clock having moved.
var mtime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// writeFile writes content to path and sets its modification time to at.
func writeFile(t *testing.T, path, content string, at time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chtimes(path, at, at))
}

func readGolden(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(goldenPath)
	require.NoError(t, err, "run TestAppendAuthoritiesGolden with -update to create it")
	return b
}

// moriaText is validDoc's authority entry; tor26Doc has a different one.
var (
	moriaText = "r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131\n" +
		"s Authority Fast Running Valid\n" +
		"v Tor 0.4.9.11\n"
	tor26Text = "r tor26 hHsfhQNE14dkkaVIkvkEk05OuF0 f8ECYeAKD3yFaViRS2aLn4DkVrY 2026-11-25 07:36:17 86.59.21.38 443 80\n" +
		"s Authority Running V2Dir Valid\n"
	tor26Doc = edit(moriaText, tor26Text)
)

func TestFileSourceMissing(t *testing.T) {
	src := consensus.NewFileSource(filepath.Join(t.TempDir(), "cached-consensus"))
	got, err := src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	got, err = src.AppendAuthorities([]byte("prefix"))
	require.NoError(t, err)
	assert.Equal(t, "prefix", string(got))
}

func TestFileSourceFixture(t *testing.T) {
	want := readGolden(t)
	src := consensus.NewFileSource(fixturePath)
	for range 2 { // the second answer comes from the cache
		got, err := src.AppendAuthorities(nil)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
	}

	got, err := src.AppendAuthorities([]byte("250+ns/authority=\n"))
	require.NoError(t, err)
	assert.Equal(t, "250+ns/authority=\n"+string(want), string(got), "dst's prefix is kept")

	// Appending never writes into the cached text.
	dst := make([]byte, 0, 2*len(want))
	a, err := src.AppendAuthorities(dst)
	require.NoError(t, err)
	a[0] = 'X'
	b, err := src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(b))
}

func TestFileSourceNoAuthorities(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cached-consensus")
	writeFile(t, path, strings.Replace(validDoc, "\ns Authority ", "\ns ", 1), mtime)
	src := consensus.NewFileSource(path)
	for range 2 {
		got, err := src.AppendAuthorities([]byte("x"))
		require.NoError(t, err)
		assert.Equal(t, "x", string(got))
	}
}

func TestFileSourceRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cached-consensus")
	src := consensus.NewFileSource(path)

	writeFile(t, path, validDoc, mtime)
	got, err := src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, moriaText, string(got))

	require.NotEqual(t, len(validDoc), len(tor26Doc))
	writeFile(t, path, tor26Doc, mtime.Add(time.Hour))
	got, err = src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, tor26Text, string(got), "a new size and mod time are seen at once")

	// Same size, new mod time.
	sameSize := strings.Replace(validDoc, "v Tor 0.4.9.11", "v Tor 0.4.9.12", 1)
	writeFile(t, path, validDoc, mtime.Add(2*time.Hour))
	got, err = src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, moriaText, string(got))
	writeFile(t, path, sameSize, mtime.Add(3*time.Hour))
	got, err = src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(moriaText, "0.4.9.11", "0.4.9.12", 1), string(got), "a new mod time alone is seen")

	// Same mod time, new size.
	writeFile(t, path, tor26Doc, mtime.Add(3*time.Hour))
	got, err = src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, tor26Text, string(got), "a new size alone is seen")

	// Removed: no consensus again.
	require.NoError(t, os.Remove(path))
	got, err = src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestFileSourceMalformed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cached-consensus")
	src := consensus.NewFileSource(path)
	writeFile(t, path, validDoc, mtime)
	_, err := src.AppendAuthorities(nil)
	require.NoError(t, err)

	writeFile(t, path, edit("vote-status consensus", "vote-status vote"), mtime.Add(time.Hour))
	for i := range 2 { // the second error comes from the cache
		got, err := src.AppendAuthorities([]byte("prefix"))
		require.Error(t, err, "call %d: a malformed file is never an empty answer", i)
		assert.ErrorIs(t, err, consensus.ErrMalformed, "call %d", i)
		assert.ErrorContains(t, err, path+": consensus: malformed document: line 2: ", "call %d: the error names the file and line", i)
		assert.Equal(t, "prefix", string(got), "call %d: dst comes back unchanged", i)
	}

	writeFile(t, path, validDoc, mtime.Add(2*time.Hour))
	got, err := src.AppendAuthorities(nil)
	require.NoError(t, err, "a fixed file is read again")
	assert.Equal(t, moriaText, string(got))
}

// TestFileSourceMalformedFirst: a source whose first read fails keeps
// failing, rather than falling back to "no consensus".
func TestFileSourceMalformedFirst(t *testing.T) {
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cached-consensus")
			writeFile(t, path, tt.doc, mtime)
			src := consensus.NewFileSource(path)
			for i := range 2 {
				got, err := src.AppendAuthorities(nil)
				assert.ErrorIs(t, err, consensus.ErrMalformed, "call %d", i)
				assert.Empty(t, got, "call %d", i)
			}
		})
	}
}

func TestFileSourceDirectory(t *testing.T) {
	dir := t.TempDir()
	src := consensus.NewFileSource(dir)
	for i := range 2 {
		var (
			got []byte
			err error
		)
		require.NotPanics(t, func() { got, err = src.AppendAuthorities([]byte("prefix")) })
		require.Error(t, err, "call %d", i)
		assert.NotErrorIs(t, err, consensus.ErrMalformed, "call %d: a read error, not a malformed document", i)
		assert.ErrorContains(t, err, dir, "call %d", i)
		assert.Equal(t, "prefix", string(got), "call %d", i)
	}
}

// Files that no one, root included, can read as a consensus are errors,
// never an empty answer and never malformed documents; and none of them
// makes the source block.
func TestFileSourceUnreadable(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	writeFile(t, regular, validDoc, mtime)
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		is    error // what the error must wrap, if anything in particular
	}{
		{"directory", func(t *testing.T, path string) { require.NoError(t, os.Mkdir(path, 0o700)) }, consensus.ErrNotRegular},
		{"below a regular file", nil, nil},
		{"too large", func(t *testing.T, path string) {
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(consensus.MaxFileSize+1)) // sparse: nothing is written
			require.NoError(t, f.Close())
		}, nil},
	}
	tests = append(tests, unreadableByEveryone...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cached-consensus")
			if tt.setup == nil {
				path = filepath.Join(regular, "cached-consensus") // ENOTDIR, for root too
			} else {
				tt.setup(t, path)
			}
			done := make(chan error, 1)
			go func() {
				got, err := consensus.NewFileSource(path).AppendAuthorities([]byte("kept"))
				if string(got) != "kept" {
					err = fmt.Errorf("dst changed to %q", got)
				}
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.NotErrorIs(t, err, consensus.ErrMalformed)
				if tt.is != nil {
					assert.ErrorIs(t, err, tt.is)
				}
				_, err = consensus.LoadFile(path)
				assert.Error(t, err, "LoadFile refuses it too")
			case <-time.After(10 * time.Second):
				t.Fatal("AppendAuthorities blocked")
			}
		})
	}
}

func TestFileSourceConcurrent(t *testing.T) {
	want := string(readGolden(t))
	src := consensus.NewFileSource(fixturePath)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			prefix := fmt.Sprintf("goroutine %d\n", g)
			for range 50 {
				got, err := src.AppendAuthorities([]byte(prefix))
				if !assert.NoError(t, err) || !assert.Equal(t, prefix+want, string(got)) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestFileSourceConcurrentRewrite: readers racing a writer that replaces
// the file atomically see one document or the other, never an error.
func TestFileSourceConcurrentRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cached-consensus")
	writeFile(t, path, validDoc, mtime)
	src := consensus.NewFileSource(path)

	// Prepare the replacements first: the writer goroutine must not call
	// require.
	docs := []string{tor26Doc, validDoc}
	var next []string
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("new-%d", i))
		writeFile(t, p, docs[i%2], mtime.Add(time.Duration(i+1)*time.Minute))
		next = append(next, p)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := src.AppendAuthorities(nil)
				if !assert.NoError(t, err) || !assert.Contains(t, []string{moriaText, tor26Text}, string(got)) {
					return
				}
			}
		})
	}
	for _, p := range next {
		assert.NoError(t, os.Rename(p, path))
	}
	close(stop)
	wg.Wait()

	got, err := src.AppendAuthorities(nil)
	require.NoError(t, err)
	assert.Equal(t, moriaText, string(got), "the last document written")
}

func TestFileSourceLookupRelayFollowsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cached-consensus")
	clk := connstatetest.NewClock(mtime)
	src := consensus.NewFileSource(path, consensus.WithClock(clk))
	newcomer, err := connstate.ParseFingerprint("6F7DEB6F28D60CF2CD1BE069039A9DD9E94E4580")
	require.NoError(t, err)
	addr := netip.MustParseAddr("192.0.2.200")

	_, listed := src.LookupRelay(newcomer, addr)
	assert.False(t, listed, "no file: no relay")

	writeFile(t, path, validDoc, mtime)
	_, listed = src.LookupRelay(newcomer, addr)
	assert.False(t, listed, "within RelayRecheck the file is not looked at again")
	clk.Advance(consensus.RelayRecheck)
	got, listed := src.LookupRelay(newcomer, addr)
	assert.True(t, listed, "the file is read once RelayRecheck has passed")
	assert.Equal(t, "192.0.2.200:8443", got.String())

	writeFile(t, path, strings.Replace(validDoc, "valid-after", "valid-afterr", 1), mtime.Add(time.Second))
	clk.Advance(consensus.RelayRecheck)
	_, listed = src.LookupRelay(newcomer, addr)
	assert.False(t, listed, "a malformed file lists no relay")
	_, err = src.AppendAuthorities(nil)
	assert.ErrorIs(t, err, consensus.ErrMalformed, "and is an error for ns/authority")

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o700))
	clk.Advance(consensus.RelayRecheck)
	_, listed = src.LookupRelay(newcomer, addr)
	assert.False(t, listed, "a directory lists no relay")
}
