package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

// Config configures [New].
type Config struct {
	// Conns is what the metrics are built from: its tier decides what they
	// say, as it decides what its keys answer. Required.
	Conns *getinfo.Conns
	// Findings, if set, returns the relay's own audit's lines as GETINFO
	// audit/findings answers them (audit.Findings.Lines), counted by
	// detector and severity.
	Findings func() []string
}

// ErrConfig is wrapped by the errors of [New].
var ErrConfig = errors.New("metrics: invalid configuration")

// Collector builds a relay's metrics from a getinfo.Conns at each scrape.
// Register it on a prometheus.Registry of the host's own.
type Collector struct {
	cfg Config

	mu    sync.Mutex // guards the cache of the public tier's epoch
	epoch int64
	cache *tally
}

// New returns the Collector of cfg.
func New(cfg Config) (*Collector, error) {
	if cfg.Conns == nil {
		return nil, fmt.Errorf("%w: no Conns", ErrConfig)
	}
	return &Collector{cfg: cfg, epoch: -1}, nil
}

// The metrics' descriptions. C tor's names first (relay_metrics.c), then
// conninfo's own, named by Prometheus's conventions.
var (
	descConnections = prometheus.NewDesc("tor_relay_connections",
		"Connections open now, by type (OR, Exit, Directory, Control), direction (initiated, received) and the address family the tier shows (ipv4, ipv6, unknown): C tor's name.",
		[]string{"type", "direction", "state", "family"}, nil)
	descCreated = prometheus.NewDesc("tor_relay_connections_total",
		"Connections opened since start, closed ones included, by type, direction and address family: C tor's name. In the unscrubbed tier only: the others hide the connections that open and close between two replies.",
		[]string{"type", "direction", "state", "family"}, nil)
	descTraffic = prometheus.NewDesc("tor_relay_traffic_bytes",
		"Bytes read and written on rate-limited connections since start, as traffic/read and traffic/written answer: C tor's name, a counter without _total.",
		[]string{"direction"}, nil)
	descCircuits = prometheus.NewDesc("tor_relay_circuits_total",
		"Circuits whose legs the tier shows (in the public tier the relay's own only): C tor's name, a gauge despite _total.",
		[]string{"state"}, nil)
	descFlags = prometheus.NewDesc("conninfo_connections",
		"Connections shown now, by TYPE_FLAGS (direction, establishment, usage, network).",
		[]string{"type_flags"}, nil)
	descBytes = prometheus.NewDesc("conninfo_connection_bytes",
		"Bytes read and written by the connections shown now, by usage (client, relay, control, hidden-service, directory): it falls when a connection closes.",
		[]string{"usage", "direction"}, nil)
	descAge = prometheus.NewDesc("conninfo_connection_age_seconds",
		"Ages of the connections shown now (UPTIME), in seconds.",
		nil, nil)
	descFindings = prometheus.NewDesc("conninfo_audit_findings",
		"Findings of the relay's own audit now, by detector and severity.",
		[]string{"detector", "severity"}, nil)
)

// ageBuckets are the connection age histogram's upper bounds: ten
// seconds, a minute, ten minutes, an hour, six hours, a day, a week.
var (
	ageBucketsArray = [...]float64{10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400}
	ageBuckets      = ageBucketsArray[:]
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descCreated, descTraffic, descCircuits, descFlags, descBytes, descAge, descFindings} {
		ch <- d
	}
}

// Collect builds the metrics from what a GETINFO asked now would be
// answered from ([getinfo.Conns.Answer]): in the public tier a scrape
// never takes a view, so that when it asks cannot say more than a
// question does.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	shown := c.cfg.Conns.Answer(true)
	t := c.tally(shown)
	for k, n := range t.conns {
		ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(n), k.typ, k.direction, "opened", k.family)
	}
	c.collectCreated(ch)
	ch <- prometheus.MustNewConstMetric(descTraffic, prometheus.CounterValue, float64(shown.Totals.TrafficRead), "read")
	ch <- prometheus.MustNewConstMetric(descTraffic, prometheus.CounterValue, float64(shown.Totals.TrafficWritten), "written")
	ch <- prometheus.MustNewConstMetric(descCircuits, prometheus.GaugeValue, float64(t.circuits), "opened")
	for flags, n := range t.flags {
		ch <- prometheus.MustNewConstMetric(descFlags, prometheus.GaugeValue, float64(n), flags.String())
	}
	for u := connstate.UsageClient; u <= connstate.UsageDirectory; u++ {
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(t.read[u]), u.String(), "read")
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(t.written[u]), u.String(), "written")
	}
	buckets := make(map[float64]uint64, len(ageBuckets))
	for i, b := range ageBuckets {
		buckets[b] = t.ages[i]
	}
	ch <- prometheus.MustNewConstHistogram(descAge, t.ageCount, t.ageSum, buckets)
	c.collectFindings(ch)
}

// collectFindings sends conninfo_audit_findings. A line that is not a
// finding, or whose detector no label may hold (not UTF-8, which
// NewConstMetric refuses), is left out rather than failing the scrape.
func (c *Collector) collectFindings(ch chan<- prometheus.Metric) {
	if c.cfg.Findings == nil {
		return
	}
	counts := map[[2]string]int{}
	for _, l := range c.cfg.Findings() {
		if f, err := audit.ParseLine(l); err == nil {
			counts[[2]string{f.Detector, f.Severity.String()}]++
		}
	}
	for k, n := range counts {
		if m, err := prometheus.NewConstMetric(descFindings, prometheus.GaugeValue, float64(n), k[0], k[1]); err == nil {
			ch <- m
		}
	}
}

// openedSource is a Conns' source that counts the connections it opened
// (a connstate.Registry).
type openedSource interface {
	Opened() []connstate.OpenedCount
}

// collectCreated sends tor_relay_connections_total from the registry's
// counts, in the unscrubbed tier only: it counts the connections that
// opened and closed between two replies, which no reply of a scrubbing
// tier shows (the public tier's views, the test-network tier's clients
// that come and go).
func (c *Collector) collectCreated(ch chan<- prometheus.Metric) {
	src, ok := c.cfg.Conns.Source.(openedSource)
	if !ok || !c.cfg.Conns.Policy.Reveals() {
		return
	}
	counts := map[connKey]uint64{}
	for _, o := range src.Opened() {
		fam := map[int]string{4: "ipv4", 6: "ipv6"}[o.Family]
		if fam == "" {
			fam = "unknown"
		}
		f := connstate.Flags{Direction: o.Direction, Usage: o.Usage, Network: o.Network}
		counts[connKey{torType(f), torDirection(f), fam}] += o.Count
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descCreated, prometheus.CounterValue, float64(n), k.typ, k.direction, "created", k.family)
	}
}

// connKey is one series of tor_relay_connections.
type connKey struct{ typ, direction, family string }

// tally is what one view's lines add up to.
type tally struct {
	conns    map[connKey]int
	flags    map[connstate.Flags]int
	read     [connstate.UsageDirectory + 1]uint64
	written  [connstate.UsageDirectory + 1]uint64
	ages     []uint64 // cumulative counts by ageBuckets
	ageCount uint64
	ageSum   float64
	circuits int
}

// tally adds up a view's lines: once an epoch in the public tier, whose
// view is the epoch's (a scrape within it reuses the sums), at every
// scrape in the others.
func (c *Collector) tally(shown getinfo.Shown) *tally {
	public := c.cfg.Conns.Policy.EpochLength() > 0
	if public {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cache != nil && c.epoch == shown.Epoch {
			return c.cache
		}
	}
	// The lines, in a part for each CPU cut at line ends, summed apart
	// and then together.
	parts := splitLines(shown.All, runtime.GOMAXPROCS(0))
	sums := make([]sums, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { sums[i].addLines(p) })
	}
	wg.Wait()
	t := &tally{conns: map[connKey]int{}, flags: map[connstate.Flags]int{}, ages: make([]uint64, len(ageBuckets))}
	circs := map[uint64]bool{}
	for i := range sums {
		t.merge(&sums[i], circs)
	}
	t.circuits = len(circs)
	if public {
		c.epoch, c.cache = shown.Epoch, t
	}
	return t
}

// sums are one part's counts, by class: a map per line would cost a
// tenth of the scrape.
type sums struct {
	byClass  [2][2][connstate.UsageDirectory + 1][3][3]int // direction, established, usage, network, family
	read     [connstate.UsageDirectory + 1]uint64
	written  [connstate.UsageDirectory + 1]uint64
	ages     [len(ageBucketsArray)]uint64
	ageCount uint64
	ageSum   float64
	circs    map[uint64]bool
}

// addLines counts the lines of part.
func (s *sums) addLines(part []byte) {
	s.circs = map[uint64]bool{}
	for len(part) > 0 {
		i := bytes.IndexByte(part, '\n')
		if i < 0 {
			i = len(part)
		}
		if l, ok := scan(part[:i]); ok {
			s.add(l)
		}
		part = part[min(i+1, len(part)):]
	}
}

// add counts one line: a leg's circuit, a connection's class, bytes and
// age.
func (s *sums) add(l line) {
	if l.circ != 0 {
		s.circs[l.circ] = true
		return
	}
	f := l.flags
	s.byClass[f.Direction-1][b2i(f.Established)][f.Usage][f.Network][l.family]++
	s.read[f.Usage] += l.read
	s.written[f.Usage] += l.written
	s.ageCount++
	s.ageSum += float64(l.uptime)
	for i, b := range ageBucketsArray {
		if float64(l.uptime) <= b {
			s.ages[i]++
		}
	}
}

// merge adds a part's sums to t.
func (t *tally) merge(s *sums, circs map[uint64]bool) {
	for d := range s.byClass {
		for est := range s.byClass[d] {
			for u := range s.byClass[d][est] {
				for n := range s.byClass[d][est][u] {
					for fam, count := range s.byClass[d][est][u][n] {
						if count == 0 {
							continue
						}
						f := connstate.Flags{Direction: connstate.Direction(d + 1), Established: est == 1, Usage: connstate.Usage(u), Network: connstate.Network(n)}
						t.flags[f] += count
						if f.Established {
							t.conns[connKey{torType(f), torDirection(f), families[fam]}] += count
						}
					}
				}
			}
		}
	}
	for u := range s.read {
		t.read[u] += s.read[u]
		t.written[u] += s.written[u]
	}
	for i := range s.ages {
		t.ages[i] += s.ages[i]
	}
	t.ageCount += s.ageCount
	t.ageSum += s.ageSum
	for c := range s.circs {
		circs[c] = true
	}
}

// splitLines cuts all into at most n parts of about equal size, each
// ending at a line's end.
func splitLines(all []byte, n int) [][]byte {
	var parts [][]byte
	for n > 1 && len(all) > 0 {
		cut := len(all) / n
		if i := bytes.IndexByte(all[cut:], '\n'); i >= 0 {
			cut += i + 1
		} else {
			cut = len(all)
		}
		parts = append(parts, all[:cut])
		all = all[cut:]
		n--
	}
	if len(all) > 0 {
		parts = append(parts, all)
	}
	return parts
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// families are the address families a line shows, by line.family.
var families = [3]string{"unknown", "ipv4", "ipv6"}

// line is what the metrics read of an entry line.
type line struct {
	circ                  uint64
	family                int // an index of families
	flags                 connstate.Flags
	read, written, uptime uint64
}

// scan reads the fields the metrics need of an entry line (CIRC_ID, the
// family of IP:PORT, TYPE_FLAGS, READ, WRITE, UPTIME) in one pass,
// skipping the others: a scrape adds up 100,000 lines, where parsing each
// whole (format.Parse) would cost more than the 10 ms a scrape may take.
// The lines are the Conns' own, a single space between fields; one it
// cannot read is left out.
func scan(b []byte) (l line, ok bool) {
	var nums [9]uint64
	var digits [9]bool
	field := 0
	for i := 0; i < len(b) && field < 9; field++ {
		start := i
		switch field {
		case 0, 2, 4: // CONN_ID, OR_ID, L_PORT: skipped
			if j := bytes.IndexByte(b[i:], ' '); j >= 0 {
				i += j
			} else {
				i = len(b)
			}
		case 3: // IP:PORT: its family
			switch {
			case b[i] == '0' && (i+1 == len(b) || b[i+1] == ' '):
				l.family = 0
			case b[i] == '[':
				l.family = 2
			default:
				l.family = 1
			}
			if j := bytes.IndexByte(b[i:], ' '); j >= 0 {
				i += j
			} else {
				i = len(b)
			}
		case 5: // TYPE_FLAGS
			if i+3 > len(b) {
				return l, false
			}
			var bad int
			if l.flags, bad = connstate.FlagsOf(b[i], b[i+1], b[i+2]); bad != 0 {
				return l, false
			}
			for i < len(b) && b[i] != ' ' {
				i++
			}
		default: // the numbers, read here: through decimal.ParseUint64 the tally takes a tenth longer (8.1–8.6 against 7.3–7.6 ms, BenchmarkTally)
			var v uint64
			for i < len(b) && b[i] != ' ' {
				d := uint64(b[i] - '0')
				n := i - start
				if d > 9 || n > 19 || n == 19 && v > (^uint64(0)-d)/10 {
					return l, false // not a digit, or past 2^64-1
				}
				v = v*10 + d
				i++
			}
			nums[field], digits[field] = v, i > start
		}
		if i == start {
			return l, false // an empty field: two spaces, or none left
		}
		i++ // the space
	}
	if field < 9 || !digits[1] || !digits[6] || !digits[7] || !digits[8] {
		return l, false
	}
	l.circ, l.read, l.written, l.uptime = nums[1], nums[6], nums[7], nums[8]
	return l, true
}

// torType is C tor's connection type of a line: Control, Directory,
// Exit (a stream out of the Tor network), else OR.
func torType(f connstate.Flags) string {
	switch {
	case f.Usage == connstate.UsageControl:
		return "Control"
	case f.Usage == connstate.UsageDirectory:
		return "Directory"
	case f.Direction == connstate.Outbound && f.Network == connstate.NetworkOutside:
		return "Exit"
	}
	return "OR"
}

// torDirection is C tor's word for who opened the connection.
func torDirection(f connstate.Flags) string {
	if f.Direction == connstate.Outbound {
		return "initiated"
	}
	return "received"
}
