package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// viewEvery is how often the live view prints.
const viewEvery = 3 * time.Second

// liveView prints a compact view of the registry until ctx ends: what a
// controller would see, scrubbed.
func liveView(ctx context.Context, w io.Writer, reg *connstate.Registry, proc *getinfo.Process) {
	t := time.NewTicker(viewEvery)
	defer t.Stop()
	var entries []connstate.Entry
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		entries = reg.AppendEntries(entries[:0])
		io.WriteString(w, render(entries, reg.Totals(), proc.Uptime()))
	}
}

// render formats one view: counts by TYPE_FLAGS, totals, and the busiest
// connections as their scrubbed entry lines.
func render(entries []connstate.Entry, t connstate.Totals, up time.Duration) string {
	byFlags := map[string]int{}
	var conns []connstate.Entry
	circuits := map[uint64]bool{}
	for _, e := range entries {
		if e.CircID != 0 {
			circuits[e.CircID] = true
			continue
		}
		byFlags[e.Flags.String()]++
		conns = append(conns, e)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- up %v: %d connections, %d circuits with legs\n", up.Truncate(time.Second), len(conns), len(circuits))
	flags := make([]string, 0, len(byFlags))
	for f := range byFlags {
		flags = append(flags, f)
	}
	slices.Sort(flags)
	b.WriteString("    by type:")
	for _, f := range flags {
		fmt.Fprintf(&b, " %s %d", f, byFlags[f])
	}
	fmt.Fprintf(&b, "\n    relayed: read %s, written %s; traffic: read %s, written %s\n",
		mib(t.RelayRead), mib(t.RelayWritten), mib(t.TrafficRead), mib(t.TrafficWritten))
	slices.SortFunc(conns, func(a, b connstate.Entry) int { return cmp.Compare(b.Read+b.Written, a.Read+a.Written) })
	b.WriteString("    busiest (scrubbed):\n")
	policy := scrub.Default()
	for _, e := range conns[:min(3, len(conns))] {
		b.WriteString("      ")
		policy.Scrub(&e)
		b.Write(format.AppendEntry(nil, &e))
		b.WriteByte('\n')
	}
	return b.String()
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
