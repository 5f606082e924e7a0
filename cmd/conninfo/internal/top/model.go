package top

import (
	"context"
	"errors"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

// Snapshot is what one refresh read from the relay.
type Snapshot struct {
	// At is when it was read; the zero Time is the Model's clock's now.
	At time.Time
	// Header is the relay's keys that name it (version, address,
	// fingerprint, ...), shown in order on the first line.
	Header []Field
	// Status is the relay's keys that change (uptime, traffic/read,
	// ...), shown in order at the start of the second line. The values
	// of uptime (seconds), traffic/read and traffic/written (bytes) are
	// shown in units.
	Status []Field
	// Entries are conn/all's lines.
	Entries []connstate.Entry
	// Findings are the audit's.
	Findings []audit.Finding
}

// Field is one key and its value.
type Field struct{ Name, Value string }

// Source reads the relay. Fetch is called once a refresh, never twice at
// once; an error is shown and the last snapshot kept.
type Source interface {
	Fetch(ctx context.Context) (Snapshot, error)
}

// SourceFunc is a function as a [Source].
type SourceFunc func(ctx context.Context) (Snapshot, error)

// Fetch calls f.
func (f SourceFunc) Fetch(ctx context.Context) (Snapshot, error) { return f(ctx) }

// BW is one BW event: the bytes the relay read and wrote in a second.
type BW struct{ Read, Written uint64 }

// DefaultEvery is the time between refreshes when [Config.Every] is 0.
const DefaultEvery = 2 * time.Second

// Config configures [New].
type Config struct {
	// Source is read at start and every Every. Required.
	Source Source
	// Every is the time between refreshes (default [DefaultEvery]).
	Every time.Duration
	// BW, if not nil, delivers BW events for the sparkline; it may be
	// closed.
	BW <-chan BW
	// Title names the relay in the header: its control address, say.
	Title string
	// Sort is the column rows sort by at start: rate (the default),
	// bytes, uptime, id or flags. Reverse turns the order.
	Sort    string
	Reverse bool
	// Filter keeps the rows whose text holds it, in any case, at start.
	Filter string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// A view is one of the Model's tabs.
type view int

const (
	viewConns view = iota
	viewCircs
	viewFindings
	views
)

// sparkWidth is how many seconds of BW the sparkline holds.
const sparkWidth = 60

// Model is the bubbletea model of conninfo top. Create it with [New] and
// run it with tea.NewProgram; [Model.Apply] loads a snapshot directly,
// for tests and for hosts that drive it themselves.
type Model struct {
	ctx    context.Context
	cfg    Config
	now    func() time.Time
	width  int
	height int

	snap     Snapshot
	loaded   bool
	err      error
	counter  *counter
	chains   map[chainKey]string // the chains written so far
	conns    []row               // every connection row, unfiltered
	circs    []row
	legs     []leg // circRows' buffer
	shown    []row // the current tab's rows, sorted and filtered
	marks    map[key]audit.Severity
	view     view
	sort     sortKey
	reverse  bool
	filter   string
	editing  bool // typing the filter
	offset   int  // the first row shown
	paused   bool
	due      bool // a refresh came due while paused
	bw       []BW // the last sparkWidth seconds, oldest first
	bwClosed bool
}

// ErrNoSource is returned by [New] without a [Config.Source].
var ErrNoSource = errors.New("top: no source")

// New returns the model of cfg. ctx bounds every Fetch.
func New(ctx context.Context, cfg Config) (*Model, error) {
	if cfg.Source == nil {
		return nil, ErrNoSource
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	m := &Model{ctx: ctx, cfg: cfg, now: now, counter: newCounter(), chains: map[chainKey]string{}, reverse: cfg.Reverse, filter: cfg.Filter, width: 120, height: 40}
	if cfg.Sort != "" {
		s, err := parseSort(cfg.Sort)
		if err != nil {
			return nil, err
		}
		m.sort = s
	}
	return m, nil
}

// Messages of the model's commands.
type (
	fetchedMsg struct {
		snap Snapshot
		err  error
	}
	dueMsg    struct{}
	bwMsg     BW
	bwDoneMsg struct{}
)

// Init starts the first refresh and the reading of BW events.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.fetch(), m.waitBW())
}

func (m *Model) fetch() tea.Cmd {
	src, ctx := m.cfg.Source, m.ctx
	return func() tea.Msg {
		s, err := src.Fetch(ctx)
		return fetchedMsg{s, err}
	}
}

func (m *Model) waitBW() tea.Cmd {
	ch := m.cfg.BW
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		b, ok := <-ch
		if !ok {
			return bwDoneMsg{}
		}
		return bwMsg(b)
	}
}

// Update handles a message: a key, the terminal's size, a snapshot, a BW
// event or a refresh coming due.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clampOffset()
	case tea.KeyMsg:
		return m, m.key(msg)
	case fetchedMsg:
		if msg.err != nil {
			m.err = msg.err
		} else {
			m.Apply(msg.snap)
		}
		every := m.cfg.Every
		return m, tea.Tick(every, func(time.Time) tea.Msg { return dueMsg{} })
	case dueMsg:
		if m.paused {
			m.due = true
			return m, nil
		}
		return m, m.fetch()
	case bwMsg:
		m.bw = append(m.bw, BW(msg))
		if len(m.bw) > sparkWidth {
			m.bw = slices.Delete(m.bw, 0, len(m.bw)-sparkWidth)
		}
		return m, m.waitBW()
	case bwDoneMsg:
		m.bwClosed = true
	}
	return m, nil
}

// Apply loads a snapshot: the rows, their rates against the snapshots
// before it, and the findings' marks.
func (m *Model) Apply(s Snapshot) {
	if s.At.IsZero() {
		s.At = m.now()
	}
	m.snap, m.loaded, m.err = s, true, nil
	tracks := m.counter.observe(s.Entries, s.At)
	m.conns = connRows(m.conns, s.Entries, tracks, s.At)
	m.circs, m.legs = circRows(m.circs, m.legs, s.Entries, tracks, s.At, m.chains)
	m.marks = map[key]audit.Severity{}
	for _, f := range s.Findings {
		for _, id := range f.ConnIDs {
			m.marks[key{conn: id}] = max(m.marks[key{conn: id}], f.Severity)
		}
		for _, id := range f.CircIDs {
			m.marks[key{circ: id}] = max(m.marks[key{circ: id}], f.Severity)
		}
	}
	m.reshow()
}

// reshow sorts and filters the current tab's rows again.
func (m *Model) reshow() {
	var rows []row
	switch m.view {
	case viewConns:
		rows = m.conns
	case viewCircs:
		rows = m.circs
	}
	m.shown = filterRows(append(m.shown[:0], rows...), m.filter)
	sortRows(m.shown, m.sort, m.reverse)
	m.clampOffset()
}

// key handles one key press, and returns the command it starts.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyRunes && len(k.Runes) > 1 && !m.editing {
		// Keys typed faster than the terminal is read come as one
		// message: each is a key of its own ("/" begins the filter, the
		// runes after it are its text).
		var cmds []tea.Cmd
		for i, r := range k.Runes {
			if m.editing {
				m.filter += string(k.Runes[i:])
				m.reshow()
				break
			}
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
		}
		return tea.Batch(cmds...)
	}
	if m.editing {
		switch k.Type {
		case tea.KeyEnter:
			m.editing = false
		case tea.KeyEsc:
			m.editing, m.filter = false, ""
		case tea.KeyBackspace:
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		case tea.KeyRunes, tea.KeySpace:
			m.filter += string(k.Runes)
			if k.Type == tea.KeySpace {
				m.filter += " "
			}
		case tea.KeyCtrlC:
			return tea.Quit
		}
		m.offset = 0
		m.reshow()
		return nil
	}
	switch k.String() {
	case "q", "ctrl+c":
		return tea.Quit
	case "tab":
		m.setView((m.view + 1) % views)
	case "shift+tab":
		m.setView((m.view + views - 1) % views)
	case "1", "2", "3":
		m.setView(view(k.Runes[0] - '1'))
	case "s":
		m.sort = (m.sort + 1) % sortKeys
		m.reshow()
	case "r":
		m.reverse = !m.reverse
		m.reshow()
	case "/":
		m.editing = true
	case "esc":
		m.filter = ""
		m.reshow()
	case "p", " ":
		m.paused = !m.paused
		if !m.paused && m.due {
			m.due = false
			return m.fetch()
		}
	case "up", "k":
		m.scroll(-1)
	case "down", "j":
		m.scroll(1)
	case "pgup":
		m.scroll(-m.bodyRows())
	case "pgdown":
		m.scroll(m.bodyRows())
	case "home", "g":
		m.offset = 0
	case "end", "G":
		m.scroll(len(m.shown))
	}
	return nil
}

func (m *Model) setView(v view) {
	m.view, m.offset = v, 0
	m.reshow()
}

func (m *Model) scroll(n int) {
	m.offset += n
	m.clampOffset()
}

func (m *Model) clampOffset() {
	n := len(m.shown)
	if m.view == viewFindings {
		n = len(m.snap.Findings)
	}
	m.offset = max(0, min(m.offset, n-m.bodyRows()))
}
