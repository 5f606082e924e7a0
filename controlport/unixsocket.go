package controlport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// listenUnix listens on a unix socket at path that never exists with a
// mode wider than 0600: it is bound inside a new directory of mode 0700
// beside path, where no one else can reach it, made 0600 there, and
// renamed into place. The same rename replaces a stale socket atomically.
func listenUnix(path string) (net.Listener, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".controlport-")
	if err != nil {
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	defer os.RemoveAll(dir)
	private := filepath.Join(dir, "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: private, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	l.SetUnlinkOnClose(false) // it is unlinked under its final name
	if err := os.Chmod(private, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	info, err := os.Lstat(private)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	if err := os.Rename(private, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	return &unixListener{UnixListener: l, addr: &net.UnixAddr{Name: path, Net: "unix"}, file: info}, nil
}

// checkSocketPath refuses a path that holds anything but a stale socket:
// a file, a directory, or a socket someone still listens on.
func checkSocketPath(path string) error {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("controlport: listen: %w", err)
	case info.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("controlport: listen on %s: the path exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("controlport: listen on %s: a server already listens there", path)
	}
	return nil
}

// unixListener reports the socket's final path and removes it on Close,
// unless another file has taken its place.
type unixListener struct {
	*net.UnixListener
	addr *net.UnixAddr
	file fs.FileInfo // the socket as bound, to tell it from a later file at its path
	once sync.Once
}

func (l *unixListener) Addr() net.Addr { return l.addr }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if now, statErr := os.Lstat(l.addr.Name); statErr == nil && os.SameFile(now, l.file) {
			os.Remove(l.addr.Name)
		}
	})
	return err
}
