//go:build unix

package controlport_test

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/getinfo"
)

// The control socket never exists with a mode wider than 0600, not even
// for an instant, whatever the umask: a watcher polling its path while it
// is made again and again sees only 0600.
func TestUnixSocketNeverWiderThan0600(t *testing.T) {
	old := syscall.Umask(0) // the worst umask: a socket bound in place would be 0777
	defer syscall.Umask(old)
	srv, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "control.sock")

	var seen, wider atomic.Int64
	var modes sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if fi, err := os.Lstat(path); err == nil {
				seen.Add(1)
				if fi.Mode().Perm()&^0o600 != 0 {
					wider.Add(1)
					modes.Store(fi.Mode().Perm(), true)
				}
			}
		}
	})
	for range 300 {
		l, err := srv.Listen("unix", path)
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
	close(stop)
	wg.Wait()
	require.Positive(t, seen.Load(), "the watcher saw the socket")
	var wide []fs.FileMode
	modes.Range(func(k, _ any) bool { wide = append(wide, k.(fs.FileMode)); return true })
	assert.Zero(t, wider.Load(), "%d of %d observations wider than 0600: %v", wider.Load(), seen.Load(), wide)
	_, err = os.Lstat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Close removes the socket")
}

// A stale socket is replaced; a live one, or any other file, is refused.
func TestUnixSocketPath(t *testing.T) {
	srv, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true})
	require.NoError(t, err)
	dir := t.TempDir()

	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close()) // left behind, as by a killed process
	l, err = srv.Listen("unix", stale)
	require.NoError(t, err, "a stale socket is replaced")
	s := controlporttest.Serve(t, srv, l)
	c := s.Dial(t)
	c.Authenticate(controlporttest.Auth{})
	fi, err := os.Stat(stale)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	other, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true})
	require.NoError(t, err)
	_, err = other.Listen("unix", stale)
	assert.ErrorContains(t, err, "already listens", "a live socket is not taken over")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = other.Listen("unix", file)
	assert.ErrorContains(t, err, "not a socket")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no private directory left behind: %v", entries)
}
