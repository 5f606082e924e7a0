package procinfo

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartTicks(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want uint64
		ok   bool
	}{
		{"plain", "4242 (tor) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 200", 987654, true},
		{"name with spaces and parens", "77 (a b) (c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", 12345, true},
		{"too short", "77 (x) R 1 2 3", 0, false},
		{"no name", "77 x R", 0, false},
		{"not a number", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 soon 0 0", 0, false},
	}
	for _, tt := range tests {
		got, err := startTicks([]byte(tt.stat))
		if !tt.ok {
			assert.Error(t, err, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestUptimeSeconds(t *testing.T) {
	d, err := uptimeSeconds([]byte("350735.47 234388.90\n"))
	require.NoError(t, err)
	assert.Equal(t, 350735470*time.Millisecond, d.Round(time.Millisecond))
	_, err = uptimeSeconds(nil)
	assert.Error(t, err)
	_, err = uptimeSeconds([]byte("soon"))
	assert.Error(t, err)
}

func TestLinuxReadings(t *testing.T) {
	start, err := StartTime()
	require.NoError(t, err)
	assert.WithinDuration(t, Loaded(), start, 5*time.Second, "a test binary starts just before it loads its packages")
	assert.False(t, start.After(time.Now()))

	before, err := OpenDescriptors()
	require.NoError(t, err)
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	after, err := OpenDescriptors()
	require.NoError(t, f.Close())
	require.NoError(t, err)
	assert.Equal(t, before+1, after)

	limit, err := DescriptorLimit()
	require.NoError(t, err)
	assert.Greater(t, limit, uint64(after))
}
