package getinfo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessKeysMatchTheOS compares each process key with what the
// operating system's own tools report about this process.
func TestProcessKeysMatchTheOS(t *testing.T) {
	p := &getinfo.Process{Policy: scrub.TestNetwork()} // live and exact
	m := getinfo.NewMux()
	p.Register(m)
	pid := strconv.Itoa(os.Getpid())

	assert.Equal(t, pid, answer(t, m, "process/pid"))
	assert.Equal(t, run(t, "id", "-u"), answer(t, m, "process/uid"))
	assert.Equal(t, run(t, "id", "-un"), answer(t, m, "process/user"))

	soft := run(t, "prlimit", "--pid", pid, "--nofile", "--output", "SOFT", "--noheadings")
	assert.Equal(t, soft, answer(t, m, "info/descriptor-limit"))
	n, err := strconv.ParseUint(soft, 10, 64)
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatUint(n-32, 10), answer(t, m, "process/descriptor-limit"), "tor's meaning: less 32 reserved")

	// The count changes by what we open, and agrees exactly with a listing
	// made by another process.
	base, err := strconv.Atoi(answer(t, m, "info/descriptor-used"))
	require.NoError(t, err)
	var files []*os.File
	for range 25 {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		files = append(files, f)
	}
	assert.Equal(t, strconv.Itoa(base+25), answer(t, m, "process/descriptors-used"))
	used, listed := listedByAnotherProcess(t, m)
	assert.Equal(t, used, listed, "descriptors-used against ls of /proc/PID/fd from a child process")
	for _, f := range files {
		require.NoError(t, f.Close())
	}
	assert.Equal(t, strconv.Itoa(base), answer(t, m, "info/descriptor-used"))

	// Uptime counts from the process's start, not from Register: ps agrees within a second or two.
	etimes, err := strconv.Atoi(run(t, "ps", "-o", "etimes=", "-p", pid))
	require.NoError(t, err)
	up, err := strconv.Atoi(answer(t, m, "uptime"))
	require.NoError(t, err)
	assert.InDelta(t, etimes, up, 2, "ps says %d s, uptime %d s", etimes, up)
}

// listedByAnotherProcess returns descriptors-used and, at the same moment,
// how many entries ls finds in /proc/PID/fd, run by a child shell. The two
// are equal by construction: the child's stdout is a file opened first,
// os/exec's own descriptors for starting it (stdin, stderr, the status
// pipe) are closed once Start returns, and only then is the count taken
// and the child told, by SIGUSR1, to list; the pidfd that os/exec keeps
// while the child runs is open for both.
func listedByAnotherProcess(t *testing.T, m *getinfo.Mux) (used, listed int) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "ls"))
	require.NoError(t, err)
	defer out.Close()
	script := `trap 'ls /proc/` + strconv.Itoa(os.Getpid()) + `/fd; exit 0' USR1; echo ready; while :; do sleep 1 & wait $!; done`
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout = out
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(out.Name())
		return err == nil && string(b) == "ready\n"
	}, 10*time.Second, 5*time.Millisecond, "the child shell never got ready")
	used, err = strconv.Atoi(answer(t, m, "process/descriptors-used"))
	require.NoError(t, err)
	require.NoError(t, cmd.Process.Signal(syscall.SIGUSR1))
	require.NoError(t, cmd.Wait())
	b, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	names := strings.Fields(strings.TrimPrefix(string(b), "ready\n"))
	require.NotEmpty(t, names, "ls printed nothing")
	return used, len(names)
}

// Under the public tier the descriptor count is read once an epoch and
// rounded, so that opening descriptors within an epoch shows nothing.
func TestPublicDescriptorCountIsCoarse(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	m := getinfo.NewMux()
	(&getinfo.Process{Clock: clk}).Register(m)
	first := answer(t, m, "process/descriptors-used")
	n, err := strconv.Atoi(first)
	require.NoError(t, err)
	assert.Zero(t, n%getinfo.PublicDescriptorRound, "rounded: %d", n)
	var files []*os.File
	for range 2 * getinfo.PublicDescriptorRound {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		files = append(files, f)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	clk.Advance(9 * time.Second)
	assert.Equal(t, first, answer(t, m, "info/descriptor-used"), "the same within the epoch")
	clk.Advance(time.Second)
	assert.NotEqual(t, first, answer(t, m, "info/descriptor-used"), "read again in the next")
}

// The second review's calibration of the descriptor count: open
// descriptors of one's own until the public tier's reading steps, close
// one to sit just below the step, then read, each epoch, whether a
// victim's single descriptor opened. With an offset drawn afresh each
// epoch the attacker is right about half the time, as by guessing; with a
// fixed rounding, it was right in 200 of 200.
func TestDescriptorCalibrationFails(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	m := getinfo.NewMux()
	(&getinfo.Process{Clock: clk}).Register(m)
	read := func() string { return answer(t, m, "process/descriptors-used") }
	next := func() { // the first instant of the next epoch
		k := clk.Now().UnixNano()/int64(10*time.Second) + 1
		clk.Set(time.Unix(0, k*int64(10*time.Second)))
	}
	var own []*os.File
	defer func() {
		for _, f := range own {
			f.Close()
		}
	}()
	next()
	base := read()
	for range 4 * getinfo.PublicDescriptorRound {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		own = append(own, f)
		next()
		if read() != base {
			break
		}
	}
	own[len(own)-1].Close()
	own = own[:len(own)-1]
	right := 0
	const trials = 200
	for i := range trials {
		next()
		victim := i%2 == 0
		var f *os.File
		if victim {
			var err error
			f, err = os.Open(os.DevNull)
			require.NoError(t, err)
		}
		if stepped := read() != base; stepped == victim {
			right++
		}
		if f != nil {
			f.Close()
		}
	}
	assert.Less(t, right, trials*3/4, "a victim's descriptor told right in %d of %d epochs", right, trials)
}
