package protocol_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport/protocol"
)

// testPassword hashes to torHash: the HashedControlPassword of the tor
// instance in the reference transcripts.
const (
	testPassword = "test-password"
	torHash      = "16:793C5782A9AFB67F60FFC4D41C7894F57AE86DF69D087F8CC4FBDD6846"
)

func TestHashedPasswordOfTor(t *testing.T) {
	h, err := protocol.ParseHashedPassword(torHash)
	require.NoError(t, err)
	assert.True(t, h.Matches([]byte(testPassword)))
	assert.False(t, h.Matches([]byte("test-passwore")))
	assert.False(t, h.Matches(nil))
	assert.Equal(t, torHash, h.String())
	lower, err := protocol.ParseHashedPassword(strings.ToLower(torHash))
	require.NoError(t, err)
	assert.Equal(t, h, lower)
}

func TestHashPassword(t *testing.T) {
	a, b := protocol.HashPassword("secret"), protocol.HashPassword("secret")
	assert.Regexp(t, regexp.MustCompile(`^16:[0-9A-F]{16}60[0-9A-F]{40}$`), a, "tor's format and count")
	assert.NotEqual(t, a, b, "fresh salt each time")
	for _, s := range []string{a, b} {
		h, err := protocol.ParseHashedPassword(s)
		require.NoError(t, err)
		assert.True(t, h.Matches([]byte("secret")))
	}
}

func TestParseHashedPasswordErrors(t *testing.T) {
	for _, s := range []string{"", "secret", "16:", "17:" + torHash[3:], torHash + "00", torHash[:len(torHash)-2], "16:" + strings.Repeat("G", 58)} {
		_, err := protocol.ParseHashedPassword(s)
		assert.ErrorIs(t, err, protocol.ErrBadHashedPassword, "%q", s)
	}
}

// A hash made by tor --hash-password works, as the issue requires.
func TestHashFromTor(t *testing.T) {
	torPath, err := exec.LookPath("tor")
	if err != nil {
		t.Skip("tor is not installed (Debian package tor); .ci/run installs it")
	}
	out, err := exec.Command(torPath, "--quiet", "--hash-password", "from tor").Output()
	require.NoError(t, err)
	line := strings.TrimSpace(string(out))
	line = line[strings.LastIndex(line, "\n")+1:]
	h, err := protocol.ParseHashedPassword(line)
	require.NoError(t, err, "tor printed %q", out)
	assert.True(t, h.Matches([]byte("from tor")))

	auth, err := protocol.NewAuth(protocol.AuthConfig{HashedPasswords: []string{line}})
	require.NoError(t, err)
	reply, outcome := protocol.NewSession(auth).Handle(nil, "AUTHENTICATE", `"from tor"`)
	assert.Equal(t, "250 OK\r\n", string(reply))
	assert.Equal(t, protocol.Authenticated, outcome)
}

func TestCookieFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	a, err := protocol.WriteCookieFile(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, a, onDisk)
	assert.Len(t, a, protocol.CookieLen)
	b, err := protocol.WriteCookieFile(path)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh cookie every time")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}
