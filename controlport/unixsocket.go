package controlport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// listenUnix listens on a unix socket at path that never exists with a
// mode wider than 0600: it is bound inside a new directory of mode 0700
// beside path, where no one else can reach it, made 0600 there, and
// renamed into place. The same rename replaces a stale socket atomically.
// The directory holding path is locked from the check to the rename, so
// that two servers cannot both take the path.
func listenUnix(path string) (net.Listener, error) {
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("controlport: listen: %w", err)
	}
	defer unlock()
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

// errStale is what a dial to a socket no one listens on fails with.
var errStale = syscall.ECONNREFUSED

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
	c, err := net.Dial("unix", path)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("controlport: listen on %s: a server already listens there", path)
	case !errors.Is(err, errStale):
		// Busy (its queue full), or someone else's: not known to be stale.
		return fmt.Errorf("controlport: listen on %s: a socket is there and may be in use: %w", path, err)
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

// Accept gives the connections the socket's final path as their local
// address, not the private one it was bound at.
func (l *unixListener) Accept() (net.Conn, error) {
	c, err := l.UnixListener.AcceptUnix()
	if err != nil {
		return nil, err
	}
	return &unixConn{UnixConn: c, local: l.addr}, nil
}

// unixConn is an accepted connection reporting the listener's final path.
type unixConn struct {
	*net.UnixConn
	local net.Addr
}

func (c *unixConn) LocalAddr() net.Addr { return c.local }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if now, statErr := os.Lstat(l.addr.Name); statErr == nil && os.SameFile(now, l.file) {
			os.Remove(l.addr.Name)
		}
	})
	return err
}
