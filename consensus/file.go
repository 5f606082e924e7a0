package consensus

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// MaxFileSize bounds the cached consensus a [FileSource] reads: real ones
// are a few megabytes.
const MaxFileSize = 64 << 20

// ErrNotRegular is wrapped by the error of a [FileSource] whose path is
// not a regular file (a directory, a FIFO, a device), which it refuses
// without reading, so that nothing can make it block.
var ErrNotRegular = errors.New("consensus: not a regular file")

// FileSource answers ns/authority from a cached consensus file, such as
// the cached-consensus or cached-microdesc-consensus in a relay's data
// directory. It re-reads the file when its size or modification time
// changes, so a relay that fetches a new consensus is seen at once.
//
// A missing file means "no consensus": an empty answer, as tor gives for
// ns/* before it has one. A file that cannot be read or parsed is an
// error, never an empty answer: anything but a regular file (wrapping
// [ErrNotRegular]), a file over [MaxFileSize], a read error, a malformed
// document (wrapping [ErrMalformed]).
//
// A FileSource is safe for concurrent use; it satisfies
// getinfo.AuthoritySource. Its lock guards only the cached answer: the
// file is opened and read without it, so that a slow disk delays no other
// caller that the cache can answer.
type FileSource struct {
	path string

	mu     sync.Mutex
	cached *loaded
}

// loaded is one reading of the file: what it held and when it changed.
type loaded struct {
	size    int64
	modTime time.Time
	text    []byte // the authorities' entries
	err     error  // why the file could not be read or parsed
}

func (l *loaded) matches(info fs.FileInfo) bool {
	return l != nil && l.size == info.Size() && l.modTime.Equal(info.ModTime())
}

// NewFileSource returns a source reading the consensus at path.
func NewFileSource(path string) *FileSource { return &FileSource{path: path} }

// AppendAuthorities appends the directory authorities' router-status
// entries to dst; nothing when the file does not exist.
func (s *FileSource) AppendAuthorities(dst []byte) ([]byte, error) {
	f, info, err := openRegular(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return dst, nil
	}
	if err != nil {
		return dst, err
	}
	defer f.Close()

	s.mu.Lock()
	l := s.cached
	s.mu.Unlock()
	if !l.matches(info) {
		l = &loaded{size: info.Size(), modTime: info.ModTime()}
		if c, err := parseOpen(f, info); err != nil {
			l.err = err
		} else {
			l.text = c.AppendAuthorities([]byte{})
		}
		s.mu.Lock()
		s.cached = l // the latest reading wins; an older one is as good as gone
		s.mu.Unlock()
	}
	if l.err != nil {
		return dst, l.err
	}
	return append(dst, l.text...), nil
}

// openRegular opens path for reading if it is a regular file, without
// blocking on a FIFO or a device on the way.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("consensus: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("consensus: %w", err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s is %s", ErrNotRegular, path, kind(info.Mode()))
	}
	return f, info, nil
}

// parseOpen parses an open regular file of at most MaxFileSize bytes.
func parseOpen(f *os.File, info fs.FileInfo) (*Consensus, error) {
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("consensus: %s: %d bytes, over the %d of MaxFileSize", f.Name(), info.Size(), MaxFileSize)
	}
	c, err := Parse(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return c, nil
}

// LoadFile parses the consensus file at path, which must be a regular
// file of at most [MaxFileSize] bytes.
func LoadFile(path string) (*Consensus, error) {
	f, info, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseOpen(f, info)
}

// kind names what a file that is not regular is, for an error.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
