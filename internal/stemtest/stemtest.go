package stemtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Python is Debian's interpreter, which sees Debian's python3-stem; a
// python3 earlier on PATH (pyenv, a venv) may not.
const Python = "/usr/bin/python3"

var available struct {
	once sync.Once
	err  error
	out  string
}

// Require skips the test unless Python can import stem.
func Require(t testing.TB) {
	t.Helper()
	available.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, Python, "-I", "-c", "import stem, stem.connection, stem.control; print(stem.__version__)").CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		available.err, available.out = err, lines[len(lines)-1] // a traceback's last line says why
	})
	if available.err != nil {
		t.Skipf("stem tests need Debian's python3-stem for %s (apt-get install python3-stem; .ci/run installs it): %v %s",
			Python, available.err, available.out)
	}
}

// Run runs script with args under Python in isolated mode, with stdin as
// its input and env added to the environment, and returns what it printed
// on standard output and on standard error. It skips the test without
// stem, and fails it if the script fails or runs past 30 seconds, with
// both outputs in the message.
func Run(t testing.TB, script string, args []string, stdin []byte, env ...string) (stdout, stderr []byte) {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, append([]string{"-I", script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	require.NoError(t, err, "stem run failed (context: %v)\nstderr:\n%s\nstdout:\n%s", ctx.Err(), errOut.String(), out.String())
	return out.Bytes(), errOut.Bytes()
}
