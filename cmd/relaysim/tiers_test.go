package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/internal/stemtest"
)

// wireLine is an entry line split into its fields, read here without
// package format so that the checks do not rest on the code under test.
type wireLine struct {
	text                          string
	conn, circ, orID, addr, lport string
	flags                         string
	read, written, uptime         uint64
}

func splitLines(t *testing.T, value string) []wireLine {
	t.Helper()
	if value == "" {
		return nil
	}
	var out []wireLine
	for _, text := range strings.Split(value, "\n") {
		f := strings.Fields(text)
		require.Len(t, f, 9, text)
		var n [3]uint64
		for i := range n {
			v, err := strconv.ParseUint(f[6+i], 10, 64)
			require.NoError(t, err, text)
			n[i] = v
		}
		out = append(out, wireLine{text, f[0], f[1], f[2], f[3], f[4], f[5], n[0], n[1], n[2]})
	}
	return out
}

// checkPublic checks one conn/all value against the public tier's rules,
// with epochs of epoch seconds, and reports how many leg lines and how
// many unlisted relay peers it showed.
func checkPublic(t *testing.T, value string, epoch uint64) (legs, unlisted int) {
	t.Helper()
	assert.NotContains(t, value, unlistedFingerprint.String(), "the unlisted fingerprint is never shown")
	lines := splitLines(t, value)
	ownFlags := map[string]string{}
	published := map[string]string{} // by OR_ID: the one IP:PORT its lines may show
	for _, l := range lines {
		if l.circ == "0" {
			ownFlags[l.conn] = l.flags
		}
	}
	for _, l := range lines {
		assert.Zero(t, l.read%oracle.PublicRound, "READ not rounded to 256 KiB: %s", l.text)
		assert.Zero(t, l.written%oracle.PublicRound, "WRITE not rounded to 256 KiB: %s", l.text)
		assert.Zero(t, l.uptime%epoch, "UPTIME not in whole epochs: %s", l.text)
		if l.circ != "0" {
			legs++
			// relaysim's own circuits run on its links to listed peers; a
			// carried circuit would have a leg on a client's line.
			assert.Equal(t, "ORT", ownFlags[l.conn], "a leg not of an origin circuit: %s", l.text)
			assert.NotEqual(t, "0", l.orID, "an origin leg on a listed relay: %s", l.text)
			continue
		}
		switch {
		case l.flags[2] != 'T' || l.orID == "0":
			assert.Equal(t, "0", l.addr, "an endpoint of a peer no consensus lists: %s", l.text)
			assert.Equal(t, "0", l.lport, "%s", l.text)
			assert.Equal(t, "0", l.orID, "%s", l.text)
			if l.flags == "IRT" {
				unlisted++
			}
		case l.flags[0] == 'O':
			assert.NotEqual(t, "0", l.addr, "a listed relay is shown: %s", l.text)
			assert.Equal(t, "0", l.lport, "never our ephemeral port: %s", l.text)
		default: // an inbound listed relay
			assert.NotEqual(t, "0", l.addr, "a listed relay is shown: %s", l.text)
		}
		// A relay's every line, inbound (from a source port of its own) or
		// outbound (to its ORPort), shows the same published address.
		if l.orID != "0" && l.addr != "0" {
			if p, ok := published[l.orID]; ok {
				assert.Equal(t, p, l.addr, "relay %s shown at two addresses: %s", l.orID, l.text)
			}
			published[l.orID] = l.addr
		}
	}
	return legs, unlisted
}

// TestPublicTierLive runs relaysim in its default tier and reads conn/all
// through its control port: only origin legs, no endpoint of an unlisted
// peer, every count rounded and every uptime in whole epochs, and answers
// within an epoch identical.
func TestPublicTierLive(t *testing.T) {
	const epoch = 2
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "120", "-quiet", "-epoch", "2s")
	require.Contains(t, out.String(), "relaysim: privacy tier public (epoch 2s, bytes rounded to 262144)")
	ctl := connect(t, out.String(), nil)
	var legs, unlisted int
	require.Eventually(t, func() bool {
		legs, unlisted = checkPublic(t, ctl.GetInfo("conn/all")[0], epoch)
		return legs > 0 && unlisted > 0
	}, 40*time.Second, 500*time.Millisecond, "origin legs and unlisted peers appear")

	same := 0
	for range 20 {
		before := time.Now()
		first := ctl.GetInfo("conn/all", "relay/read-total", "traffic/written")
		second := ctl.GetInfo("conn/all", "relay/read-total", "traffic/written")
		if epochOf(before, epoch) == epochOf(time.Now(), epoch) {
			assert.Equal(t, first, second, "two answers within one epoch")
			same++
		}
	}
	assert.Positive(t, same, "no two answers fell within one epoch")
	require.NoError(t, wait())
}

func epochOf(t time.Time, seconds int64) int64 { return t.UnixNano() / (seconds * int64(time.Second)) }

// stemPairs is what testdata/stem_tiers.py prints.
type stemPairs struct {
	StemVersion string `json:"stem_version"`
	Pairs       []struct {
		T0     float64 `json:"t0"`
		T1     float64 `json:"t1"`
		First  string  `json:"first"`
		Second string  `json:"second"`
	} `json:"pairs"`
}

func runStemPairs(t *testing.T, out string, pairs int) stemPairs {
	t.Helper()
	addr := controlAddr(t, out)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	stdout, _ := stemtest.Run(t, "testdata/stem_tiers.py", []string{port, strconv.Itoa(pairs)}, nil)
	var r stemPairs
	require.NoError(t, json.Unmarshal(stdout, &r), string(stdout))
	require.Len(t, r.Pairs, pairs)
	return r
}

// TestStemSeesTheTiers reads relaysim's conn/all with stem: in the public
// tier two answers within one epoch are byte-identical, no relayed
// circuit's legs appear and a peer claiming an unknown fingerprint shows
// no address; in the test-network tier, the legs of relayed circuits
// appear.
func TestStemSeesTheTiers(t *testing.T) {
	stemtest.Require(t)
	t.Run("public", func(t *testing.T) {
		const epoch = 2
		out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "120", "-quiet", "-epoch", "2s")
		ctl := connect(t, out.String(), nil)
		require.Eventually(t, func() bool {
			legs, unlisted := checkPublic(t, ctl.GetInfo("conn/all")[0], epoch)
			return legs > 0 && unlisted > 0
		}, 40*time.Second, 500*time.Millisecond)
		r := runStemPairs(t, out.String(), 10)
		same := 0
		for _, p := range r.Pairs {
			legs, unlisted := checkPublic(t, p.First, epoch)
			assert.Positive(t, unlisted, "stem sees the unlisted peer without an address")
			assert.GreaterOrEqual(t, legs, 0)
			if math.Floor(p.T0/epoch) == math.Floor(p.T1/epoch) {
				assert.Equal(t, p.First, p.Second, "stem's two answers within one epoch")
				same++
			}
		}
		assert.Positive(t, same, "no pair fell within one epoch")
		require.NoError(t, wait())
	})
	t.Run("testnet", func(t *testing.T) {
		out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "80", "-quiet", "-policy", "testnet")
		ctl := connect(t, out.String(), nil)
		require.Eventually(t, func() bool { return carriedLegs(t, ctl.GetInfo("conn/all")[0]) > 0 }, 40*time.Second, 200*time.Millisecond)
		r := runStemPairs(t, out.String(), 1)
		assert.Positive(t, carriedLegs(t, r.Pairs[0].First), "stem sees the legs of circuits carried for clients")
		require.NoError(t, wait())
	})
}

// carriedLegs counts the legs on client connections ('IRt'): circuits the
// relay carries for others.
func carriedLegs(t *testing.T, value string) int {
	n := 0
	for _, l := range splitLines(t, value) {
		if l.circ != "0" && l.flags == "IRt" {
			n++
		}
	}
	return n
}
