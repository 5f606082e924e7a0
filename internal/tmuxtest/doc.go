// Package tmuxtest drives terminal programs in tests: each [Session] is
// one program in a detached tmux session on a tmux server of its own, so
// that tests read its screen (capture-pane) and type at it (send-keys)
// as an operator would, without a terminal of their own and without
// meeting another test's sessions.
//
// A Session's methods may be called from one goroutine at a time.
package tmuxtest
