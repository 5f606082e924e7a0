package deps_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/conninfo/conninfo"

// core are the packages a relay links.
var core = []string{"connstate", "scrub", "format", "getinfo", "consensus", "events", "options", "controlport", "controlport/protocol", "client", "audit"}

func TestCoreImportsNoThirdPartyModule(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "go on PATH")
	for _, pkg := range core {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/"+pkg).Output()
		require.NoError(t, err, "go list -deps %s", pkg)
		for _, dep := range strings.Fields(string(out)) {
			ok := dep == module || strings.HasPrefix(dep, module+"/") || strings.HasPrefix(dep, "golang.org/x/sys/")
			assert.True(t, ok, "%s imports %s", pkg, dep)
			assert.False(t, strings.Contains(dep, "/internal/") && strings.HasSuffix(dep, "test"), "%s imports the test helper %s", pkg, dep)
		}
	}
}
