package consensus

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// MaxFileSize bounds the cached consensus a [FileSource] reads: real ones
// are a few megabytes.
const MaxFileSize = 64 << 20

// ErrNotRegular is wrapped by the error of a [FileSource] whose path is
// not a regular file (a directory, a FIFO, a device), which it refuses
// without reading, so that nothing can make it block.
var ErrNotRegular = errors.New("consensus: not a regular file")

// FileSource reads a cached consensus file, such as the cached-consensus
// or cached-microdesc-consensus in a relay's data directory: it answers
// ns/authority, and tells package scrub's public tier which peers are
// public relays. It re-reads the file when its size or modification time
// changes, so a relay that fetches a new consensus is seen at once by
// ns/authority, and within [RelayRecheck] by LookupRelay.
//
// A missing file means "no consensus": an empty ns/authority, as tor
// gives for ns/* before it has one, and no relay listed. A file that
// cannot be read or parsed is an error for ns/authority, never an empty
// answer, and lists no relay: anything but a regular file (wrapping
// [ErrNotRegular]), a file over [MaxFileSize], a read error, a malformed
// document (wrapping [ErrMalformed]).
//
// A FileSource is safe for concurrent use; it satisfies
// getinfo.AuthoritySource and scrub.Relays. Its lock guards only the cached
// reading: the file is opened and read without it, so that a slow disk
// delays no other caller that the cache can answer.
type FileSource struct {
	path  string
	clock connstate.Clock

	mu      sync.Mutex
	cached  *loaded
	checked time.Time // when LookupRelay last looked at the file
}

// RelayRecheck is how often [FileSource.LookupRelay] looks at the file
// for a change: it is asked once per shown relay line, so it must not cost
// a stat each time.
const RelayRecheck = time.Second

// loaded is one reading of the file: what it held and when it changed.
type loaded struct {
	size      int64
	modTime   time.Time
	consensus *Consensus // nil if there is no file, or err is set
	text      []byte     // the authorities' entries
	err       error      // why the file could not be read or parsed
}

func (l *loaded) matches(info fs.FileInfo) bool {
	return l != nil && l.size == info.Size() && l.modTime.Equal(info.ModTime())
}

// FileOption configures a [FileSource].
type FileOption func(*FileSource)

// WithClock makes LookupRelay time its rechecks by c instead of the real
// clock, so that tests can step past [RelayRecheck].
func WithClock(c connstate.Clock) FileOption {
	return func(s *FileSource) {
		if c != nil {
			s.clock = c
		}
	}
}

// NewFileSource returns a source reading the consensus at path.
func NewFileSource(path string, opts ...FileOption) *FileSource {
	s := &FileSource{path: path, clock: connstate.RealClock()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AppendAuthorities appends the directory authorities' router-status
// entries to dst; nothing when the file does not exist.
func (s *FileSource) AppendAuthorities(dst []byte) ([]byte, error) {
	l := s.load()
	if l.err != nil {
		return dst, l.err
	}
	return append(dst, l.text...), nil
}

// LookupRelay reports whether the consensus in the file lists a relay
// with identity fp, and the ORPort it publishes at addr, as
// [Consensus.LookupRelay] does. Without a readable, valid file it lists
// none: the public tier then shows no endpoint, failing closed.
func (s *FileSource) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	return s.current().LookupRelay(fp, addr)
}

// Nickname is [Consensus.Nickname] on the file's current reading,
// rechecked as LookupRelay rechecks it.
func (s *FileSource) Nickname(fp connstate.Fingerprint) (string, bool) {
	return s.current().Nickname(fp)
}

// current returns the file's reading, parsing it again if RelayRecheck has
// passed since it was last checked and it changed.
func (s *FileSource) current() *Consensus {
	clock := s.clock
	if clock == nil {
		clock = connstate.RealClock() // a zero FileSource
	}
	now := clock.Now()
	s.mu.Lock()
	l := s.cached
	fresh := l != nil && now.Sub(s.checked) < RelayRecheck && now.Sub(s.checked) >= 0
	if !fresh {
		s.checked = now
	}
	s.mu.Unlock()
	if !fresh {
		l = s.load()
	}
	return l.consensus
}

// load returns the file's current reading, parsing it again only if it
// changed; the lock is not held while the file is read.
func (s *FileSource) load() *loaded {
	f, info, err := openRegular(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		l := &loaded{}
		s.store(l)
		return l
	}
	if err != nil {
		l := &loaded{err: err}
		s.store(l)
		return l
	}
	defer f.Close()

	s.mu.Lock()
	l := s.cached
	s.mu.Unlock()
	if l.matches(info) {
		return l
	}
	l = &loaded{size: info.Size(), modTime: info.ModTime()}
	if c, err := parseOpen(f, info); err != nil {
		l.err = err
	} else {
		l.consensus, l.text = c, c.AppendAuthorities([]byte{})
	}
	s.store(l)
	return l
}

// store keeps l as the latest reading: an older one is as good as gone.
func (s *FileSource) store(l *loaded) {
	s.mu.Lock()
	s.cached = l
	s.mu.Unlock()
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

// AppendNetworkStatus is [Consensus.AppendNetworkStatus] on the file's
// current reading: nothing without a readable, valid file.
func (s *FileSource) AppendNetworkStatus(dst []byte) []byte {
	return s.current().AppendNetworkStatus(dst)
}

// AppendRouterStatus is [Consensus.AppendRouterStatus] on the file's
// current reading.
func (s *FileSource) AppendRouterStatus(dst []byte, fp connstate.Fingerprint) ([]byte, bool) {
	return s.current().AppendRouterStatus(dst, fp)
}
