package top_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/conninfo/conninfo/cmd/conninfo/internal/top"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
)

// A model fed two snapshots two seconds apart: the circuits tab shows
// the chain and the rates of its legs.
func Example() {
	parse := func(lines ...string) []connstate.Entry {
		var out []connstate.Entry
		for _, l := range lines {
			e, err := format.Parse(l)
			if err != nil {
				panic(err)
			}
			out = append(out, e)
		}
		return out
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	snaps := []top.Snapshot{
		{At: at, Entries: parse("5 9 0 0 0 IRt 1024 2048 30", "6 9 0 0 0 ORt 0 1024 30")},
		{At: at.Add(2 * time.Second), Entries: parse("5 9 0 0 0 IRt 5120 4096 32", "6 9 0 0 0 ORt 0 5120 32")},
	}
	m, err := top.New(context.Background(), top.Config{Source: top.SourceFunc(func(context.Context) (top.Snapshot, error) { return snaps[1], nil })})
	if err != nil {
		panic(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 10})
	for _, s := range snaps {
		m.Apply(s)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("2")})
	for _, l := range strings.Split(m.View(), "\n")[4:6] {
		fmt.Println(strings.TrimRight(l, " "))
	}
	// Output:
	//   CIRC_ID          CHAIN                                        IN BYTES  OUT BYTES     IN/s    OUT/s   UPTIME
	//   9                RELAY -> YOU -> EXIT                          9.0 KiB    5.0 KiB  3.0 KiB  2.0 KiB      32s
}
