package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// viewEvery is how often the live view prints.
const viewEvery = 3 * time.Second

// liveView prints a compact view until ctx ends, read through mux as a
// controller reads it: under the public tier it changes once an epoch and
// shows no more than a controller may see.
func liveView(ctx context.Context, w io.Writer, mux *getinfo.Mux, policy scrub.Policy, proc *getinfo.Process) {
	t := time.NewTicker(viewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := mux.Answer(nil, getinfo.ConnAllKey)
		if err != nil {
			fmt.Fprintf(w, "--- conn/all: %v\n", err)
			continue
		}
		entries, err := format.ParseAll(string(v))
		if err != nil {
			fmt.Fprintf(w, "--- conn/all: %v\n", err)
			continue
		}
		var totals connstate.Totals
		for key, dst := range map[string]*uint64{
			"relay/read-total": &totals.RelayRead, "relay/write-total": &totals.RelayWritten,
			"traffic/read": &totals.TrafficRead, "traffic/written": &totals.TrafficWritten,
		} {
			if v, err := mux.Answer(nil, key); err == nil {
				*dst, _ = strconv.ParseUint(string(v), 10, 64)
			}
		}
		io.WriteString(w, render(entries, policy, totals, proc.Uptime()))
	}
}

// render formats one view of conn/all's entries as policy showed them:
// the tier, counts by TYPE_FLAGS, the totals, and the busiest connections.
func render(entries []connstate.Entry, policy scrub.Policy, t connstate.Totals, up time.Duration) string {
	byFlags := map[string]int{}
	var conns []connstate.Entry
	circuits, legs := map[uint64]bool{}, 0
	for _, e := range entries {
		if e.CircID != 0 {
			circuits[e.CircID] = true
			legs++
			continue
		}
		byFlags[e.Flags.String()]++
		conns = append(conns, e)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- up %v, tier %s: %d connections, %d legs of %d circuits shown\n",
		up.Truncate(time.Second), policy.Tier(), len(conns), legs, len(circuits))
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
	slices.SortStableFunc(conns, func(a, b connstate.Entry) int { return cmp.Compare(b.Read+b.Written, a.Read+a.Written) })
	b.WriteString("    busiest:\n")
	for _, e := range conns[:min(3, len(conns))] {
		b.WriteString("      ")
		b.Write(format.AppendEntry(nil, &e))
		b.WriteByte('\n')
	}
	return b.String()
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
