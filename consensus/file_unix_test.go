//go:build unix

package consensus_test

import (
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/consensus"
)

// unreadableByEveryone are the cases of TestFileSourceUnreadable that need
// a Unix system: a FIFO, which would block an open(2) waiting for its
// writer, and on Linux a file that stat calls regular but whose every read
// fails, whoever the reader.
var unreadableByEveryone = []struct {
	name  string
	setup func(t *testing.T, path string)
	is    error
}{
	{"named pipe", func(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o600)) }, consensus.ErrNotRegular},
	{"read error", func(t *testing.T, path string) {
		if runtime.GOOS != "linux" {
			t.Skip("needs Linux's /proc/self/mem, a regular file whose reads at offset 0 fail")
		}
		require.NoError(t, os.Symlink("/proc/self/mem", path))
	}, nil},
}
