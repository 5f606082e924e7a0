package stemtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/internal/stemtest"
)

func TestRunSeesStem(t *testing.T) {
	script := filepath.Join(t.TempDir(), "version.py")
	if err := os.WriteFile(script, []byte("import os, sys, stem\nprint(stem.__version__, sys.argv[1], os.environ['STEMTEST'], sys.stdin.read())\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := stemtest.Run(t, script, []string{"arg"}, []byte("input"), "STEMTEST=env")
	assert.Regexp(t, `^\d+\.\d+\.\d+ arg env input\n$`, string(out))
}

// A test calls Run with its script; the interpreter is always Debian's,
// whatever python3 comes first on PATH.
func ExampleRun() {
	fmt.Println(stemtest.Python)
	// Output: /usr/bin/python3
}
