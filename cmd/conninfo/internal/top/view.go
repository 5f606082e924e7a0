package top

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

var (
	titleStyle    = lipgloss.NewStyle().Bold(true).Reverse(true)
	headStyle     = lipgloss.NewStyle().Bold(true).Underline(true)
	tabStyle      = lipgloss.NewStyle().Bold(true).Reverse(true)
	dimStyle      = lipgloss.NewStyle().Faint(true)
	errStyle      = lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true)
	severityStyle = map[audit.Severity]lipgloss.Style{
		audit.Info:     lipgloss.NewStyle().Foreground(lipgloss.Color("6")),
		audit.Warning:  lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		audit.Critical: lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
	}
)

// paneFindings is how many findings the connections and circuits tabs
// show under their rows.
const paneFindings = 3

// fixedLines are the lines around the rows: title, summary, sparkline,
// tabs, column header and the status line.
const fixedLines = 6

// bodyRows is how many rows fit.
func (m *Model) bodyRows() int {
	n := m.height - fixedLines
	if m.view != viewFindings {
		n -= min(paneFindings, len(m.snap.Findings))
	}
	return max(1, n)
}

// View draws the screen: only the rows that fit are formatted, so a
// relay's 9,000 connections cost what a screenful does.
func (m *Model) View() string {
	var b strings.Builder
	line := func(s string) {
		b.WriteString(ansi.Truncate(s, m.width, ""))
		b.WriteByte('\n')
	}
	line(titleStyle.Render(pad(m.title(), m.width)))
	line(m.summary())
	line(m.sparkline())
	line(m.tabs())
	switch m.view {
	case viewFindings:
		line(headStyle.Render(pad(findingHead, m.width)))
		fs := m.snap.Findings
		end := min(len(fs), m.offset+m.bodyRows())
		for _, f := range fs[m.offset:end] {
			line(findingLine(f))
		}
		for range m.bodyRows() - (end - m.offset) {
			line("")
		}
	default:
		head, format := connHead, m.connLine
		if m.view == viewCircs {
			head, format = circHead, m.circLine
		}
		line(headStyle.Render(pad(head, m.width)))
		end := min(len(m.shown), m.offset+m.bodyRows())
		for i := m.offset; i < end; i++ {
			line(format(&m.shown[i]))
		}
		blank := m.bodyRows() - (end - m.offset)
		if m.loaded && len(m.shown) == 0 {
			line(dimStyle.Render("  " + m.empty()))
			blank--
		}
		for range blank {
			line("")
		}
		for _, f := range worst(m.snap.Findings, paneFindings) {
			line(findingLine(f))
		}
	}
	b.WriteString(ansi.Truncate(m.status(), m.width, ""))
	return b.String()
}

// title is the header's first line: the relay's keys.
func (m *Model) title() string {
	parts := []string{"conninfo top"}
	if m.cfg.Title != "" {
		parts = append(parts, m.cfg.Title)
	}
	for _, f := range m.snap.Header {
		parts = append(parts, fieldText(f))
	}
	return strings.Join(parts, "  ")
}

// summary is the relay's status and what the tier shows of it.
func (m *Model) summary() string {
	if !m.loaded {
		return "reading the relay..."
	}
	var in, out, unestablished int
	for _, r := range m.conns {
		if r.entry.Flags.Direction == connstate.Inbound {
			in++
		} else {
			out++
		}
		if !r.entry.Flags.Established {
			unestablished++
		}
	}
	var parts []string
	for _, f := range m.snap.Status {
		parts = append(parts, fieldText(f))
	}
	parts = append(parts, fmt.Sprintf("connections %d (in %d, out %d, unestablished %d)  circuits shown %d  at %s",
		len(m.conns), in, out, unestablished, len(m.circs), m.snap.At.Format(time.TimeOnly)))
	return strings.Join(parts, "  ")
}

// printable drops control characters: what the relay sends reaches the
// terminal, and an escape sequence there would be the relay's to write.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// fieldText writes a key and its value, in units for those it knows.
func fieldText(f Field) string {
	f = Field{printable(f.Name), printable(f.Value)}
	n, err := strconv.ParseUint(f.Value, 10, 64)
	switch {
	case err != nil:
	case f.Name == "uptime":
		return "up " + (time.Duration(n) * time.Second).String()
	case f.Name == "traffic/read":
		return "read " + bytes(n)
	case f.Name == "traffic/written":
		return "written " + bytes(n)
	}
	return f.Name + " " + f.Value
}

// sparkline draws the BW events' bytes a second, read and written.
func (m *Model) sparkline() string {
	if m.cfg.BW == nil {
		return dimStyle.Render("bandwidth: no BW events")
	}
	if len(m.bw) == 0 {
		return dimStyle.Render("bandwidth: waiting for BW events")
	}
	var top uint64
	for _, b := range m.bw {
		top = max(top, b.Read+b.Written)
	}
	bars := []rune(" ▁▂▃▄▅▆▇█")
	var s strings.Builder
	for _, b := range m.bw {
		v := b.Read + b.Written
		i := 0
		if top > 0 {
			i = int((v*uint64(len(bars)-1) + top - 1) / top) // any traffic shows
		}
		s.WriteRune(bars[i])
	}
	last := m.bw[len(m.bw)-1]
	return fmt.Sprintf("bandwidth %s  read %s/s  written %s/s  (last %ds, peak %s/s)",
		s.String(), bytes(last.Read), bytes(last.Written), len(m.bw), bytes(top))
}

// tabs names the tabs, the sort and the filter.
func (m *Model) tabs() string {
	names := [views]string{"1 connections", "2 circuits", fmt.Sprintf("3 findings (%d)", len(m.snap.Findings))}
	var parts []string
	for i, n := range names {
		if view(i) == m.view {
			parts = append(parts, tabStyle.Render(" "+n+" "))
		} else {
			parts = append(parts, " "+n+" ")
		}
	}
	order := "v"
	if m.reverse {
		order = "^"
	}
	s := strings.Join(parts, " ") + "   sort " + m.sort.String() + " " + order
	if m.view != viewFindings {
		s += fmt.Sprintf("   %d of %d", len(m.shown), m.total())
	}
	if m.editing {
		s += "   filter: " + m.filter + "_"
	} else if m.filter != "" {
		s += "   filter: " + m.filter
	}
	return s
}

func (m *Model) total() int {
	if m.view == viewCircs {
		return len(m.circs)
	}
	return len(m.conns)
}

// empty says why a tab has no rows.
func (m *Model) empty() string {
	switch {
	case m.filter != "" && m.total() > 0:
		return "no row matches the filter"
	case m.view == viewCircs:
		return "no circuit legs shown: the tier shows only the relay's own circuits' legs (the public tier) or none"
	default:
		return "no connections"
	}
}

func (m *Model) status() string {
	help := "q quit  tab/1-3 view  s sort  r reverse  / filter  esc clear  p pause  arrows scroll"
	if m.paused {
		help = "PAUSED  " + help
	}
	if m.err != nil {
		return errStyle.Render("error: "+printable(m.err.Error())) + "  " + help
	}
	return dimStyle.Render(help)
}

// The rows' formats, and their column heads in the same widths.
const (
	connFormat = "%s %-16v %-5v %-18s %-22s %-9s %8s %10s %8s %8s %8s"
	circFormat = "%s %-16v %-42s %10s %10s %8s %8s %8s"
)

var (
	connHead    = fmt.Sprintf(connFormat, " ", "CONN_ID", "FLAGS", "KIND", "REMOTE", "RELAY", "READ", "WRITTEN", "IN/s", "OUT/s", "UPTIME")
	circHead    = fmt.Sprintf(circFormat, " ", "CIRC_ID", "CHAIN", "IN BYTES", "OUT BYTES", "IN/s", "OUT/s", "UPTIME")
	findingHead = "  SEVERITY DETECTOR         MESSAGE"
)

func (m *Model) connLine(r *row) string {
	e := &r.entry
	remote, relay := "-", "-"
	if e.Remote.IsValid() {
		remote = e.Remote.String()
	}
	if !e.Fingerprint.IsZero() {
		relay = e.Fingerprint.String()[:8] + "…"
	}
	return fmt.Sprintf(connFormat, m.mark(key{conn: r.id}), r.id, e.Flags, kind(e.Flags), remote, relay,
		bytes(r.read), bytes(r.written), rate(r, r.rateIn), rate(r, r.rateOut), uptime(r.uptime))
}

func (m *Model) circLine(r *row) string {
	return fmt.Sprintf(circFormat, m.mark(key{circ: r.id}), r.id, r.chain, bytes(r.in), bytes(r.out), rate(r, r.rateIn), rate(r, r.rateOut), uptime(r.uptime))
}

// mark is a row's first column: the worst finding that names it.
func (m *Model) mark(k key) string {
	s, ok := m.marks[k]
	if !ok {
		return " "
	}
	return severityStyle[s].Render("!")
}

func findingLine(f audit.Finding) string {
	return severityStyle[f.Severity].Render(fmt.Sprintf("! %-8s %-16s", f.Severity, printable(f.Detector))) + " " + printable(f.Message) + findingIDs(f)
}

// findingIDs names a finding's IDs after its message, the first few.
func findingIDs(f audit.Finding) string {
	var parts []string
	for _, ids := range []struct {
		name string
		v    []uint64
	}{{"conns", f.ConnIDs}, {"circuits", f.CircIDs}} {
		if len(ids.v) == 0 {
			continue
		}
		s := make([]string, 0, 4)
		for _, id := range ids.v[:min(len(ids.v), 3)] {
			s = append(s, strconv.FormatUint(id, 10))
		}
		if len(ids.v) > 3 {
			s = append(s, fmt.Sprintf("+%d", len(ids.v)-3))
		}
		parts = append(parts, ids.name+" "+strings.Join(s, ","))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// worst returns the n most severe findings, in their order otherwise.
func worst(fs []audit.Finding, n int) []audit.Finding {
	var out []audit.Finding
	for s := audit.Critical; s >= audit.Info && len(out) < n; s-- {
		for _, f := range fs {
			if f.Severity == s && len(out) < n {
				out = append(out, f)
			}
		}
	}
	return out
}

// kind spells out TYPE_FLAGS.
func kind(f connstate.Flags) string {
	dir := "in"
	if f.Direction == connstate.Outbound {
		dir = "out"
	}
	s := dir + " " + f.Usage.String()
	if f.Network == connstate.NetworkOutside {
		s += " ext"
	}
	if !f.Established {
		s += " wait"
	}
	return s
}

func pad(s string, width int) string {
	if w := lipgloss.Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// bytes writes a count in binary units: 512 B, 1.5 KiB, 12.3 MiB.
func bytes(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 5 {
		v /= 1024
		unit++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}[unit]
}

// rate writes a rate, or "-" before one is known.
func rate(r *row, v float64) string {
	if !r.hasRate {
		return "-"
	}
	return bytes(uint64(v + 0.5))
}

// uptime writes seconds as 45s, 12m05s, 3h04m or 2d03h.
func uptime(s uint64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
