package consensus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// FileSource answers ns/authority from a cached consensus file, such as
// the cached-consensus or cached-microdesc-consensus in a relay's data
// directory. It re-reads the file when its size or modification time
// changes, so a relay that fetches a new consensus is seen at once.
//
// A missing file means "no consensus": an empty answer, as tor gives for
// ns/* before it has one. A file that cannot be parsed is an error, never
// an empty answer.
//
// A FileSource is safe for concurrent use; it satisfies
// getinfo.AuthoritySource.
type FileSource struct {
	path string

	mu      sync.Mutex
	size    int64
	modTime time.Time
	text    []byte // the authorities' entries of the cached parse
	err     error  // the cached parse's error
}

// NewFileSource returns a source reading the consensus at path.
func NewFileSource(path string) *FileSource { return &FileSource{path: path} }

// AppendAuthorities appends the directory authorities' router-status
// entries to dst; nothing when the file does not exist.
func (s *FileSource) AppendAuthorities(dst []byte) ([]byte, error) {
	info, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return dst, nil
	}
	if err != nil {
		return dst, fmt.Errorf("consensus: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.Size() != s.size || !info.ModTime().Equal(s.modTime) || (s.text == nil && s.err == nil) {
		s.size, s.modTime = info.Size(), info.ModTime()
		s.text, s.err = s.load()
	}
	if s.err != nil {
		return dst, s.err
	}
	return append(dst, s.text...), nil
}

func (s *FileSource) load() ([]byte, error) {
	c, err := LoadFile(s.path)
	if err != nil {
		return nil, err
	}
	return c.AppendAuthorities([]byte{}), nil
}

// LoadFile parses the consensus file at path.
func LoadFile(path string) (*Consensus, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
