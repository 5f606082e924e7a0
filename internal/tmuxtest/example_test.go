package tmuxtest_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/conninfo/conninfo/internal/tmuxtest"
)

// A program that asks for a line: the test types it and reads the
// reply. (It needs tmux, so it is compiled, not run, by go test.)
func Example() {
	s, err := tmuxtest.Start(40, 5, `read -r name; echo "hello, $name"; sleep 30`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if err := s.Keys("relay", "Enter"); err != nil {
		fmt.Println(err)
		return
	}
	screen, err := s.WaitFor(10*time.Second, "the greeting", func(screen string) bool { return strings.Contains(screen, "hello,") })
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "hello") {
			fmt.Println(l)
		}
	}
}

// A test skips, with Missing's message, where a program it drives is not
// installed.
func ExampleMissing() {
	fmt.Println(tmuxtest.Missing("no-such-terminal-program"))
	// Output: no-such-terminal-program is not installed (Debian's package no-such-terminal-program); .ci/run installs it
}
