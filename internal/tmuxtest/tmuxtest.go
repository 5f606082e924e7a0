package tmuxtest

import (
	"errors"
	"fmt"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// Session is one program in a detached tmux session.
type Session struct {
	socket string
}

var sessions atomic.Uint64

// Missing returns a message naming the first of tools (tmux among them)
// that is not on PATH, or "" when all are: a test skips with it.
func Missing(tools ...string) string {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("%s is not installed (Debian's package %s); .ci/run installs it", tool, tool)
		}
	}
	return ""
}

// Start runs command, a shell command line, in a width×height window.
func Start(width, height int, command string) (*Session, error) {
	s := &Session{socket: fmt.Sprintf("conninfo-test-%d-%d", time.Now().UnixNano(), sessions.Add(1))}
	out, err := s.tmux("new-session", "-d", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	if err != nil {
		return nil, fmt.Errorf("tmux new-session: %w: %s", err, out)
	}
	return s, nil
}

// StartT is Start for a test: it fails the test on an error and ends the
// session when the test ends.
func StartT(t testing.TB, width, height int, command string) *Session {
	t.Helper()
	s, err := Start(width, height, command)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Session) tmux(args ...string) ([]byte, error) {
	return exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
}

// Screen returns the window's text, a line for each row.
func (s *Session) Screen() (string, error) {
	out, err := exec.Command("tmux", "-L", s.socket, "capture-pane", "-p").Output()
	if err != nil {
		return "", fmt.Errorf("tmux capture-pane: %w", err)
	}
	return string(out), nil
}

// Keys types keys, each a tmux key name ("Enter", "Tab", "Escape") or
// text.
func (s *Session) Keys(keys ...string) error {
	if out, err := s.tmux(append([]string{"send-keys"}, keys...)...); err != nil {
		return fmt.Errorf("tmux send-keys: %w: %s", err, out)
	}
	return nil
}

// ErrTimeout is wrapped by WaitFor's error when the screen never came.
var ErrTimeout = errors.New("tmuxtest: the screen never showed it")

// WaitFor returns the first screen for which ok holds, read every 200 ms
// for at most d; else an error holding the last screen.
func (s *Session) WaitFor(d time.Duration, what string, ok func(screen string) bool) (string, error) {
	deadline := time.Now().Add(d)
	var last string
	for {
		screen, err := s.Screen()
		if err != nil {
			return "", err
		}
		if ok(screen) {
			return screen, nil
		}
		last = screen
		if time.Now().After(deadline) {
			return last, fmt.Errorf("%w: %s within %v; the screen:\n%s", ErrTimeout, what, d, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Close ends the session's tmux server, and the program with it.
func (s *Session) Close() { s.tmux("kill-server") }
