package connstatetest

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/decimal"
)

// Fixture is the parsed form of a fixture file; see the package
// documentation for the text format.
type Fixture struct {
	Conns    []Conn
	Circuits []Circuit
	Listed   []Listing // the public relays a consensus would list: see [Fixture.Relays]
}

// Listing is one relay that the fixture's consensus lists as public, with
// the ORPorts it publishes.
type Listing struct {
	Fingerprint connstate.Fingerprint
	ORPorts     []netip.AddrPort
}

// Conn is one declared connection.
type Conn struct {
	ID          uint64
	Flags       connstate.Flags
	Fingerprint connstate.Fingerprint
	Remote      netip.AddrPort
	LocalPort   uint16
	Read        uint64
	Written     uint64
	Age         time.Duration // the UPTIME its lines show, in whole seconds
	Closed      bool          // opened and closed: counted in totals only
}

// Circuit is one declared circuit and its legs.
type Circuit struct {
	ID     uint64
	Origin bool // built by this relay for its own use
	Legs   []Leg
}

// Leg is one declared leg of a circuit.
type Leg struct {
	Role    connstate.Role
	ConnID  uint64
	Read    uint64
	Written uint64
}

// ErrFixture is wrapped by every error about a fixture's content.
var ErrFixture = errors.New("connstatetest: invalid fixture")

// roleNames are the fixture format's words for the roles of legs.
var roleNames = map[string]connstate.Role{"in": connstate.RoleInbound, "out": connstate.RoleOutbound, "exit": connstate.RoleExit}

// roleWord is the fixture format's word for a role.
func roleWord(r connstate.Role) string {
	for w, role := range roleNames {
		if role == r {
			return w
		}
	}
	return r.String()
}

// ParseFixture reads a fixture. Errors name the line, counting from 1.
func ParseFixture(r io.Reader) (*Fixture, error) {
	f := &Fixture{}
	circIndex := map[uint64]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		words := strings.Fields(line)
		var err error
		switch words[0] {
		case "conn":
			var c Conn
			if c, err = parseConn(words[1:]); err == nil {
				f.Conns = append(f.Conns, c)
			}
		case "circ":
			var c Circuit
			if c, err = parseCirc(words[1:]); err == nil {
				if _, dup := circIndex[c.ID]; dup {
					err = fmt.Errorf("circuit %d declared twice", c.ID)
				} else {
					circIndex[c.ID] = len(f.Circuits)
					f.Circuits = append(f.Circuits, c)
				}
			}
		case "listed":
			var l Listing
			if l, err = parseListed(words[1:]); err == nil {
				f.Listed = append(f.Listed, l)
			}
		case "leg":
			var circ uint64
			var l Leg
			if circ, l, err = parseLeg(words[1:]); err == nil {
				if i, ok := circIndex[circ]; ok {
					f.Circuits[i].Legs = append(f.Circuits[i].Legs, l)
				} else {
					err = fmt.Errorf("leg of circuit %d before its circ line", circ)
				}
			}
		default:
			err = fmt.Errorf("unknown declaration %q: want conn, circ, leg or listed", words[0])
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFixture, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("connstatetest: reading fixture: %w", err)
	}
	return f, nil
}

func parseID(s, what string) (uint64, error) {
	id, ok := decimal.ParseUint64(s)
	if !ok || id == 0 {
		return 0, fmt.Errorf("%s %q: want a decimal ID from 1", what, s)
	}
	return id, nil
}

// attrList is a line's key=value words; a bare word is a flag with an
// empty value. A list, not a map: a line has a handful, and a fixture
// may have a hundred thousand lines.
type attrList []struct{ key, value string }

// attrs splits key=value words, each key one of allowed and given once.
func attrs(words []string, allowed ...string) (attrList, error) {
	m := make(attrList, 0, len(words))
	for _, w := range words {
		k, v, _ := strings.Cut(w, "=")
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("unknown attribute %q: want one of %s", k, strings.Join(allowed, ", "))
		}
		if _, dup := m.get(k); dup {
			return nil, fmt.Errorf("attribute %q given twice", k)
		}
		m = append(m, struct{ key, value string }{k, v})
	}
	return m, nil
}

func (m attrList) get(key string) (string, bool) {
	for _, a := range m {
		if a.key == key {
			return a.value, true
		}
	}
	return "", false
}

func number(m attrList, key string) (uint64, error) {
	s, ok := m.get(key)
	if !ok {
		return 0, nil
	}
	n, ok := decimal.ParseUint64(s)
	if !ok {
		return 0, fmt.Errorf("%s=%q: want a decimal number", key, s)
	}
	return n, nil
}

func parseConn(words []string) (Conn, error) {
	var c Conn
	if len(words) < 2 {
		return c, errors.New("want conn ID FLAGS [attributes]")
	}
	var err error
	if c.ID, err = parseID(words[0], "connection ID"); err != nil {
		return c, err
	}
	if len(words[1]) != 3 {
		return c, fmt.Errorf("flags %q: want three TYPE_FLAGS characters", words[1])
	}
	if c.Flags, err = connstate.ParseFlags(words[1]); err != nil {
		return c, err
	}
	m, err := attrs(words[2:], "fp", "remote", "lport", "read", "written", "age", "closed")
	if err != nil {
		return c, err
	}
	if s, ok := m.get("fp"); ok {
		if c.Fingerprint, err = connstate.ParseFingerprint(s); err != nil {
			return c, err
		}
		if c.Flags.Network != connstate.NetworkTor {
			return c, fmt.Errorf("fp= needs network T, not %q", words[1])
		}
	}
	if s, ok := m.get("remote"); ok {
		if c.Remote, err = netip.ParseAddrPort(s); err != nil {
			return c, fmt.Errorf("remote=%q: %w", s, err)
		}
	}
	port, err := number(m, "lport")
	if err != nil || port > 65535 {
		lport, _ := m.get("lport")
		return c, fmt.Errorf("lport=%q: want a port number", lport)
	}
	c.LocalPort = uint16(port)
	if c.Read, err = number(m, "read"); err != nil {
		return c, err
	}
	if c.Written, err = number(m, "written"); err != nil {
		return c, err
	}
	if s, ok := m.get("age"); ok {
		if c.Age, err = parseAge(s); err != nil {
			return c, err
		}
	}
	if v, ok := m.get("closed"); ok {
		if v != "" {
			return c, fmt.Errorf("closed=%q: closed takes no value", v)
		}
		c.Closed = true
	}
	return c, nil
}

// maxAge keeps every fixture time within time.Duration.
const maxAge = 100 * 365 * 24 * time.Hour

func parseAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, ok := decimal.ParseUint64(s); ok && n <= uint64(maxAge/time.Second) {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < 0 || d > maxAge || d%time.Second != 0 {
		return 0, fmt.Errorf("age=%q: want whole seconds from 0 to 100 years (\"3600\" or \"1h\")", s)
	}
	return d, nil
}

func parseCirc(words []string) (Circuit, error) {
	if len(words) < 1 || len(words) > 2 || len(words) == 2 && words[1] != "origin" {
		return Circuit{}, errors.New("want circ ID [origin]")
	}
	id, err := parseID(words[0], "circuit ID")
	return Circuit{ID: id, Origin: len(words) == 2}, err
}

func parseListed(words []string) (Listing, error) {
	var l Listing
	if len(words) < 2 {
		return l, errors.New("want listed FINGERPRINT IP:ORPORT [IP:ORPORT]")
	}
	fp, err := connstate.ParseFingerprint(words[0])
	if err != nil || fp.IsZero() {
		return l, fmt.Errorf("listed fingerprint %q: want 40 hex digits", words[0])
	}
	l.Fingerprint = fp
	for _, w := range words[1:] {
		ap, err := netip.ParseAddrPort(w)
		if err != nil || ap.Port() == 0 {
			return l, fmt.Errorf("listed ORPort %q: want IP:PORT", w)
		}
		l.ORPorts = append(l.ORPorts, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return l, nil
}

// ListedRelays is the fixture's consensus: the public relays its listed
// lines declare. It has the method that package scrub's Relays asks for.
type ListedRelays map[connstate.Fingerprint][]netip.AddrPort

// Relays returns the relays f lists, for the public scrub tier.
func (f *Fixture) Relays() ListedRelays {
	m := ListedRelays{}
	for _, l := range f.Listed {
		m[l.Fingerprint] = append(m[l.Fingerprint], l.ORPorts...)
	}
	return m
}

// LookupRelay reports whether fp is listed, and the ORPort it publishes at
// addr, if any.
func (m ListedRelays) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	ports, ok := m[fp]
	if !ok {
		return netip.AddrPort{}, false
	}
	addr = addr.Unmap()
	for _, ap := range ports {
		if ap.Addr() == addr {
			return ap, true
		}
	}
	return netip.AddrPort{}, true
}

func parseLeg(words []string) (uint64, Leg, error) {
	var l Leg
	if len(words) < 3 {
		return 0, l, errors.New("want leg CIRC ROLE CONN [read=N] [written=N]")
	}
	circ, err := parseID(words[0], "circuit ID")
	if err != nil {
		return 0, l, err
	}
	var ok bool
	if l.Role, ok = roleNames[words[1]]; !ok {
		return 0, l, fmt.Errorf("role %q: want in, out or exit", words[1])
	}
	if l.ConnID, err = parseID(words[2], "connection ID"); err != nil {
		return 0, l, err
	}
	m, err := attrs(words[3:], "read", "written")
	if err != nil {
		return 0, l, err
	}
	if l.Read, err = number(m, "read"); err != nil {
		return 0, l, err
	}
	l.Written, err = number(m, "written")
	return circ, l, err
}

// WriteTo writes f in the fixture text format, which [ParseFixture] reads
// back to an equal Fixture.
func (f *Fixture) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	cw := &countingWriter{w: bw}
	for _, c := range f.Conns {
		fmt.Fprintf(cw, "conn %d %s", c.ID, c.Flags)
		if !c.Fingerprint.IsZero() {
			fmt.Fprintf(cw, " fp=%s", c.Fingerprint)
		}
		if c.Remote.IsValid() {
			fmt.Fprintf(cw, " remote=%s", c.Remote)
		}
		if c.LocalPort != 0 {
			fmt.Fprintf(cw, " lport=%d", c.LocalPort)
		}
		fmt.Fprintf(cw, " read=%d written=%d age=%d", c.Read, c.Written, c.Age/time.Second)
		if c.Closed {
			io.WriteString(cw, " closed")
		}
		io.WriteString(cw, "\n")
	}
	for _, l := range f.Listed {
		fmt.Fprintf(cw, "listed %s", l.Fingerprint)
		for _, ap := range l.ORPorts {
			fmt.Fprintf(cw, " %s", ap)
		}
		io.WriteString(cw, "\n")
	}
	for _, c := range f.Circuits {
		fmt.Fprintf(cw, "circ %d", c.ID)
		if c.Origin {
			io.WriteString(cw, " origin")
		}
		io.WriteString(cw, "\n")
		for _, l := range c.Legs {
			fmt.Fprintf(cw, "leg %d %s %d read=%d written=%d\n", c.ID, roleWord(l.Role), l.ConnID, l.Read, l.Written)
		}
	}
	if cw.err == nil {
		cw.err = bw.Flush()
	}
	return cw.n, cw.err
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// Load reads a fixture and builds its registry; see [Fixture.Build].
func Load(r io.Reader) (*connstate.Registry, *Clock, error) {
	f, err := ParseFixture(r)
	if err != nil {
		return nil, nil, err
	}
	return f.Build()
}

// LoadFile reads the fixture file at path and builds its registry.
func LoadFile(path string) (*connstate.Registry, *Clock, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	reg, clk, err := f.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return reg, clk, nil
}

// ReadFile parses the fixture file at path, for a test that needs its
// declarations, such as its listed relays, as well as its registry.
func ReadFile(path string) (*Fixture, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	f, err := ParseFixture(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Loaded is a fixture's registry with the handles of what it opened, so
// that a test can go on counting bytes on, establishing or closing what
// the fixture declared.
type Loaded struct {
	Registry *connstate.Registry
	Clock    *Clock
	Conns    map[uint64]*connstate.Conn    // by ID; closed ones included, closed
	Circuits map[uint64]*connstate.Circuit // by ID
	Legs     map[[2]uint64]*connstate.Leg  // by (circuit ID, connection ID)
}

// Build opens f's connections and circuits in a new registry whose clock is
// the returned Clock, set so that every connection shows its declared age.
// Declarations may come in any order; IDs must be unique. [Fixture.Open]
// does the same and returns the handles too.
func (f *Fixture) Build() (*connstate.Registry, *Clock, error) {
	l, err := f.Open()
	if err != nil {
		return nil, nil, err
	}
	return l.Registry, l.Clock, nil
}

// Open builds f's registry, as [Fixture.Build] does, and returns it with
// the handles of its connections, circuits and legs.
func (f *Fixture) Open() (*Loaded, error) { return f.open(nil) }

// BuildShuffled is [Fixture.Build] for benchmarks: the registry holds the
// same lines, but its connections, circuits and legs lie spread over the
// heap, as a long-running relay's churn leaves them, rather than one after
// another in ID order. A build allocates in order of ID; this one does so
// in rounds, each into holes freed at random all over the memory of the
// objects that follow, so that neighbours in a snapshot's walk are
// kilobytes apart and every read of one is a cache miss, as on a live
// relay. seed picks the holes. It runs a garbage collection each round:
// it takes seconds for 100,000 connections.
func (f *Fixture) BuildShuffled(seed uint64) (*connstate.Registry, *Clock, error) {
	l, err := f.open(rand.New(rand.NewPCG(seed, 0x5eed)))
	if err != nil {
		return nil, nil, err
	}
	return l.Registry, l.Clock, nil
}

func (f *Fixture) open(shuffle *rand.Rand) (*Loaded, error) {
	connHoles, circHoles := newScatter(shuffle), newScatter(shuffle)
	if shuffle != nil {
		var fps, legs int
		for _, c := range f.Conns {
			if c.Fingerprint != (connstate.Fingerprint{}) {
				fps++
			}
		}
		for _, c := range f.Circuits {
			legs += len(c.Legs)
		}
		connHoles.fill(reflect.TypeFor[connstate.Conn](), len(f.Conns))
		connHoles.fill(reflect.TypeFor[connstate.Fingerprint](), fps)
		circHoles.fill(reflect.TypeFor[connstate.Circuit](), len(f.Circuits))
		circHoles.fill(reflect.TypeFor[connstate.Leg](), legs)
	}
	var oldest time.Duration
	for _, c := range f.Conns {
		oldest = max(oldest, c.Age)
	}
	start := Epoch()
	now := start.Add(oldest)
	clk := NewClock(start)
	reg := connstate.NewRegistry(connstate.WithClock(clk))

	l := &Loaded{Conns: make(map[uint64]*connstate.Conn, len(f.Conns)), Circuits: map[uint64]*connstate.Circuit{}, Legs: map[[2]uint64]*connstate.Leg{}}
	conns := l.Conns
	for i, c := range sortedBy(f.Conns, func(c Conn) uint64 { return c.ID }) {
		connHoles.at(i, len(f.Conns))
		if _, dup := conns[c.ID]; dup {
			return nil, fmt.Errorf("%w: connection %d declared twice", ErrFixture, c.ID)
		}
		clk.Set(now.Add(-c.Age))
		h, err := reg.Open(connstate.ConnConfig{
			ID:          c.ID,
			Direction:   c.Flags.Direction,
			Usage:       c.Flags.Usage,
			Network:     c.Flags.Network,
			Fingerprint: c.Fingerprint,
			Remote:      c.Remote,
			LocalPort:   c.LocalPort,
			Established: c.Flags.Established,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: connection %d: %w", ErrFixture, c.ID, err)
		}
		h.AddRead(c.Read)
		h.AddWritten(c.Written)
		conns[c.ID] = h
	}
	connHoles.done()
	clk.Set(now)
	for i, c := range sortedBy(f.Circuits, func(c Circuit) uint64 { return c.ID }) {
		circHoles.at(i, len(f.Circuits))
		circ, err := reg.OpenCircuit(connstate.CircuitConfig{ID: c.ID, Origin: c.Origin})
		if err != nil {
			return nil, fmt.Errorf("%w: circuit %d: %w", ErrFixture, c.ID, err)
		}
		l.Circuits[c.ID] = circ
		for _, lg := range c.Legs {
			conn, ok := conns[lg.ConnID]
			if !ok {
				return nil, fmt.Errorf("%w: circuit %d: leg on undeclared connection %d", ErrFixture, c.ID, lg.ConnID)
			}
			leg, err := circ.Bind(conn, lg.Role)
			if err != nil {
				return nil, fmt.Errorf("%w: circuit %d: %w", ErrFixture, c.ID, err)
			}
			leg.AddRead(lg.Read)
			leg.AddWritten(lg.Written)
			l.Legs[[2]uint64{c.ID, lg.ConnID}] = leg
		}
	}
	circHoles.done()
	for _, c := range f.Conns {
		if c.Closed {
			if err := conns[c.ID].Close(); err != nil {
				return nil, fmt.Errorf("%w: connection %d: %w", ErrFixture, c.ID, err)
			}
		}
	}
	l.Registry, l.Clock = reg, clk
	return l, nil
}

// scatterRounds is how many rounds a shuffled build allocates in: each
// round's objects are spread over the memory of all the rounds', so that
// objects next in ID are some scatterRounds objects apart.
const scatterRounds = 64

// scatter holds fillers: objects of the size classes a build allocates,
// as many as it will allocate of each, which it frees at random, a
// round's worth at a time, for the next round's objects to fill. A nil
// scatter does nothing.
type scatter struct {
	rng     *rand.Rand
	pointer [][][]*byte // by class: fillers holding pointers, like the registry's objects
	plain   [][][]byte  // by class: pointer-free fillers, for Fingerprints
}

func newScatter(rng *rand.Rand) *scatter {
	if rng == nil {
		return nil
	}
	return &scatter{rng: rng}
}

// fill allocates n fillers of t's size class, of pointers if t has any,
// since the runtime keeps objects with pointers apart from those without.
func (s *scatter) fill(t reflect.Type, n int) {
	size := int(t.Size())
	if t.Kind() == reflect.Array && t.Elem().Kind() == reflect.Uint8 {
		class := make([][]byte, n)
		for i := range class {
			class[i] = make([]byte, size)
		}
		s.plain = append(s.plain, class)
		return
	}
	class := make([][]*byte, n)
	for i := range class {
		class[i] = make([]*byte, (size+7)/8)
	}
	s.pointer = append(s.pointer, class)
}

// at starts a round when object i of n is the first of one: it frees a
// round's share of each class's fillers, drawn at random, and collects
// them, so that the round's objects go where they were.
func (s *scatter) at(i, n int) {
	per := max(1, (n+scatterRounds-1)/scatterRounds)
	if s == nil || i%per != 0 {
		return
	}
	left := (n - i + per - 1) / per // rounds to go, this one included
	for c := range s.pointer {
		s.pointer[c] = freeSome(s.rng, s.pointer[c], len(s.pointer[c])/left)
	}
	for c := range s.plain {
		s.plain[c] = freeSome(s.rng, s.plain[c], len(s.plain[c])/left)
	}
	runtime.GC()
}

// done frees what fillers remain.
func (s *scatter) done() {
	if s != nil {
		s.pointer, s.plain = nil, nil
		runtime.GC()
	}
}

// freeSome drops k of the fillers, chosen at random, and returns the rest.
func freeSome[T any](rng *rand.Rand, fillers []T, k int) []T {
	for range min(k, len(fillers)) {
		j := rng.IntN(len(fillers))
		last := len(fillers) - 1
		fillers[j] = fillers[last]
		var zero T
		fillers[last] = zero
		fillers = fillers[:last]
	}
	return fillers
}

// sortedBy returns a copy of s sorted by id, since the registry needs
// increasing IDs and a fixture may declare them in any order.
func sortedBy[T any](s []T, id func(T) uint64) []T {
	out := slices.Clone(s)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}
