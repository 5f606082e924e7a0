package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/internal/stemtest"
)

// stemEvents is what testdata/stem_events.py prints.
type stemEvents struct {
	StemVersion string `json:"stem_version"`
	BW          []struct {
		Read, Written  uint64
		Arrived        float64
		TrafficRead    uint64 `json:"traffic_read"`
		TrafficWritten uint64 `json:"traffic_written"`
		ConnAll        string `json:"conn_all"`
		Asked          float64
	} `json:"bw"`
	ORConn []struct {
		ID, Status, Endpoint, Raw string
		Arrived                   float64
	} `json:"orconn"`
	Circuits []struct {
		ID, Status, Purpose, Created string
		Path                         [][]string
	} `json:"circuits"`
	Listeners   map[string][][]any  `json:"listeners"`
	Conf        map[string][]string `json:"conf"`
	Rate        []uint64            `json:"rate"`
	Fingerprint string              `json:"fingerprint"`
	OwnEntry    string              `json:"own_entry"`
}

// TestStemFollowsEvents follows relaysim, in the public tier with a 2 s
// epoch, through stem: one BW event a second, whose values add up to the
// growth of traffic/read and traffic/written between readings; ORCONN
// events whose IDs conn/all shows, naming no client; and stem's views of
// the relay's circuits, listeners, options and rates.
func TestStemFollowsEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("400 connections and stem for 16 s: README's test command runs it alone, without -short, beside no timing check")
	}
	stemtest.Require(t)
	// 400 connections move some 50 KB a second: several of the public
	// tier's 256 KiB steps in the window.
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "400", "-quiet", "-epoch", "2s", "-duration", "40s")
	addr := controlAddr(t, out.String())
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	stdout, _ := stemtest.Run(t, "testdata/stem_events.py", []string{port, "16"}, nil)
	var r stemEvents
	require.NoError(t, json.Unmarshal(stdout, &r), string(stdout))

	// One a second: 12 s, give or take the first and a slow start.
	assert.GreaterOrEqual(t, len(r.BW), 12, "BW events in 16 s: one a second, give or take the first and a slow start")
	assert.LessOrEqual(t, len(r.BW), 17, "BW events in 16 s")
	// Between two readings taken in the second of their events and past
	// the epoch's last second (the view's growth all handed out), the
	// events in between add up to the growth of the totals.
	settled := func(i int) bool {
		b := r.BW[i]
		s := math.Floor(b.Arrived)
		return math.Floor(b.Asked) == s && int64(s)%2 == 1
	}
	pairs := 0
	for i := range r.BW {
		if !settled(i) {
			continue
		}
		for j := i + 1; j < len(r.BW); j++ {
			if !settled(j) {
				continue
			}
			var read, written uint64
			for _, b := range r.BW[i+1 : j+1] {
				read += b.Read
				written += b.Written
			}
			assert.Equal(t, r.BW[j].TrafficRead-r.BW[i].TrafficRead, read, "BW read from event %d to %d", i, j)
			assert.Equal(t, r.BW[j].TrafficWritten-r.BW[i].TrafficWritten, written, "BW written from event %d to %d", i, j)
			pairs++
			break
		}
	}
	assert.Positive(t, pairs, "no two readings settled in their events' seconds")
	var sum uint64
	for _, b := range r.BW {
		sum += b.Read + b.Written
	}
	t.Logf("%d BW events adding up to %d bytes; %d pairs of readings checked", len(r.BW), sum, pairs)
	assert.Positive(t, sum, "the graph moves: loopback traffic counts, as CountPrivateBandwidth does on test networks")

	// ORCONN: every ID is one conn/all showed, the pseudonym; no address.
	shown := map[string]bool{}
	for _, b := range r.BW {
		for _, line := range strings.Split(b.ConnAll, "\n") {
			shown[strings.Fields(line)[0]] = true
		}
	}
	require.NotEmpty(t, r.ORConn, "connections open and close in 16 s")
	found := 0
	for _, e := range r.ORConn {
		assert.Len(t, e.ID, len(e.ID), e.Raw)
		assert.LessOrEqual(t, len(e.ID), 16, "stem's limit on an ID: %s", e.Raw)
		if shown[e.ID] {
			found++
		}
		assert.False(t, strings.Contains(e.Endpoint, "127.0.0.1"), "no address in the public tier: %s", e.Raw)
	}
	assert.GreaterOrEqual(t, found, len(r.ORConn)*3/4, "ORCONN IDs found in conn/all")

	// stem's views of the relay.
	require.NotEmpty(t, r.Circuits, "the relay's own circuits")
	for _, c := range r.Circuits {
		assert.Equal(t, "GENERAL", c.Purpose)
		assert.NotEmpty(t, c.Created)
		if c.Status == "BUILT" {
			require.Len(t, c.Path, 1, "the first hop")
			assert.True(t, strings.HasPrefix(c.Path[0][1], "simpeer"), "named by its nickname: %v", c.Path)
		}
	}
	require.Len(t, r.Listeners["or"], 1)
	require.Len(t, r.Listeners["control"], 1)
	assert.Equal(t, port, strconv.Itoa(int(r.Listeners["control"][0][1].(float64))))
	assert.Equal(t, []string{"relaysim"}, r.Conf["Nickname"])
	assert.Equal(t, []string{strconv.Itoa(int(r.Listeners["or"][0][1].(float64)))}, r.Conf["ORPort"])
	assert.Len(t, r.Conf["ExitPolicy"], 2)
	assert.Equal(t, []uint64{bandwidth.RelayRate, bandwidth.RelayBurst}, r.Rate, "stem's get_effective_rate")
	assert.Equal(t, ownFingerprint.String(), r.Fingerprint)
	assert.Equal(t, nickname, r.OwnEntry, "its own entry in ns/id")
	require.NoError(t, wait())
}
