package top_test

import (
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/cmd/conninfo/internal/top"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// The view says no more than the tier: fed a busy relay's public-tier
// conn/all, no screen (any tab, any sort, every row shown) holds an
// endpoint the fixture's consensus does not list, and the circuits tab
// holds only the relay's own circuits.
func TestPublicTierScreens(t *testing.T) {
	f := connstatetest.BusyRelay(7, 400)
	reg, clk, err := f.Build()
	require.NoError(t, err)
	conns := &getinfo.Conns{Source: reg, Policy: scrub.Public(f.Relays()), Seeds: func() uint64 { return 3 }}
	mux := getinfo.NewMux()
	conns.Register(mux)
	read := func() top.Snapshot {
		v, err := mux.AppendInfo(nil, "conn/all")
		require.NoError(t, err)
		entries, err := client.DecodeConnAll(v)
		require.NoError(t, err)
		return top.Snapshot{At: clk.Now(), Entries: entries}
	}
	m, err := top.New(context.Background(), top.Config{Source: top.SourceFunc(func(context.Context) (top.Snapshot, error) { return read(), nil })})
	require.NoError(t, err)
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 3000}) // every row on the screen
	m.Apply(read())
	clk.Advance(10 * time.Second)
	m.Apply(read())

	// The endpoints the tier may show: the listed ORPorts.
	listed := map[netip.AddrPort]bool{}
	for _, l := range f.Listed {
		for _, ap := range l.ORPorts {
			listed[ap] = true
		}
	}
	var own []string
	for _, c := range f.Circuits {
		if c.Origin {
			own = append(own, strconv.FormatUint(conns.ShownCircID(c.ID), 10))
		}
	}
	require.NotEmpty(t, own, "the fixture has origin circuits")
	circuitRow := regexp.MustCompile(`(?m)^[! ] (\d+) +.*YOU`)
	endpoint := regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|\[[0-9a-f:]+\]:\d+`)
	shown := 0
	for _, keys := range []string{"", "s", "s", "s", "s", "r"} {
		for tab := range 3 {
			if keys != "" {
				m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(keys)})
			}
			m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{rune('1' + tab)}})
			screen := m.View()
			for _, ep := range endpoint.FindAllString(screen, -1) {
				shown++
				assert.True(t, listed[netip.MustParseAddrPort(ep)], "tab %d shows %s, which no listing publishes", tab+1, ep)
			}
			if tab == 1 {
				var ids []string
				for _, m := range circuitRow.FindAllStringSubmatch(screen, -1) {
					ids = append(ids, m[1])
				}
				assert.ElementsMatch(t, own, ids, "the circuits tab holds the relay's own circuits only")
			}
		}
	}
	assert.Positive(t, shown, "the listed relays' endpoints are shown, so the check checks something")
	for _, c := range f.Conns {
		if !listed[c.Remote] {
			assert.NotContains(t, m.View(), c.Remote.String())
		}
	}
}
