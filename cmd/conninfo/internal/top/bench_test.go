package top_test

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/cmd/conninfo/internal/top"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// busy returns the test-network conn/all of a relay with 9,000
// connections (about 45,000 lines with the legs of its circuits).
func busy(b *testing.B) top.Snapshot {
	reg, clk, err := connstatetest.BusyRelay(1, 9000).Build()
	if err != nil {
		b.Fatal(err)
	}
	conns := &getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}
	m := getinfo.NewMux()
	conns.Register(m)
	v, err := m.AppendInfo(nil, "conn/all")
	if err != nil {
		b.Fatal(err)
	}
	entries, err := client.DecodeConnAll(v)
	if err != nil {
		b.Fatal(err)
	}
	return top.Snapshot{At: clk.Now(), Entries: entries}
}

func newBusyModel(b *testing.B, s top.Snapshot) *top.Model {
	m, err := top.New(context.Background(), top.Config{Source: top.SourceFunc(func(context.Context) (top.Snapshot, error) { return s, nil })})
	if err != nil {
		b.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	m.Apply(s)
	return m
}

// BenchmarkApply is the work of a refresh on a relay with 9,000
// connections: rows, rates, chains, sort. The screen stays responsive
// while it is well under the refresh interval (2 s).
func BenchmarkApply(b *testing.B) {
	s := busy(b)
	m := newBusyModel(b, s)
	b.ReportAllocs()
	for b.Loop() {
		s.At = s.At.Add(2 * time.Second)
		m.Apply(s)
	}
	b.ReportMetric(float64(len(s.Entries)), "lines")
}

// BenchmarkKey is a key press that re-sorts the 9,000 rows, and the
// screen drawn after it.
func BenchmarkKey(b *testing.B) {
	m := newBusyModel(b, busy(b))
	sortKey := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(sortKey)
		_ = m.View()
	}
}

// BenchmarkView draws one screen of the 9,000 rows.
func BenchmarkView(b *testing.B) {
	m := newBusyModel(b, busy(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}
