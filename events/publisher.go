package events

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// DefaultQueueLen is how many events a subscription holds for a controller
// that has not taken them yet, when [Config.QueueLen] is 0. In the public
// tier one view's ORCONN changes all come at once: a busy guard, whose
// clients come and go by the thousand each epoch, may want more.
const DefaultQueueLen = 16384

// ErrConfig is wrapped by the errors of [New].
var ErrConfig = errors.New("events: invalid configuration")

// Config configures a [Publisher].
type Config struct {
	// Conns is what the events are derived from: its tier decides what
	// they show, as it decides what its keys answer. Required.
	Conns *getinfo.Conns
	// Nicknames, if set, names a relay peer in ORCONN as tor does,
	// "$FINGERPRINT~nickname"; without it a relay is "$FINGERPRINT". A
	// *consensus.Consensus and a *consensus.FileSource fit.
	Nicknames getinfo.Nicknames
	// QueueLen bounds each subscription's queue (default
	// [DefaultQueueLen]): a controller that stops taking its events loses
	// the newer ones, never grows the relay's memory.
	QueueLen int
	// Logger receives the count of events a subscription lost; nil
	// discards it.
	Logger *slog.Logger
	// Findings, if set, returns the lines of the relay's own audit as
	// GETINFO audit/findings answers them (audit.Findings.Lines): a line
	// that was not there the second before is sent as CONNINFO_AUDIT.
	// They are asked for each second while a subscription wants
	// CONNINFO_AUDIT; it must answer at once (audit.Findings does in the
	// public tier, from its last audit at an instant of the grid).
	Findings func() []string
}

// Publisher derives tor's events from what a getinfo.Conns shows, once a
// second while any subscription asks for them, and hands them to every
// subscription that asked for each. It is safe for concurrent use.
type Publisher struct {
	cfg   Config
	clock connstate.Clock
	log   *slog.Logger
	tier  scrub.Tier

	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	running bool        // a tick is scheduled
	stop    func() bool // cancels the scheduled tick
	closed  bool
	gen     uint64 // bumped by each start, so that a stale tick does nothing
	fresh   bool   // the ticks start afresh: the next one takes a new baseline

	// stepMu is held by a tick while it makes its events, before p.mu, so
	// that ticks never overlap; state is guarded by it.
	stepMu sync.Mutex
	state  tickState
	// cacheMu guards cache, bw-event-cache's seconds, oldest first: apart
	// from stepMu, so that a question never waits for a tick.
	cacheMu sync.Mutex
	cache   []second
}

// New returns a Publisher for cfg. It starts nothing until a subscription
// asks for an event.
func New(cfg Config) (*Publisher, error) {
	switch {
	case cfg.Conns == nil:
		return nil, fmt.Errorf("%w: no Conns", ErrConfig)
	case cfg.QueueLen < 0:
		return nil, fmt.Errorf("%w: negative QueueLen", ErrConfig)
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	p := &Publisher{
		cfg:   cfg,
		clock: cfg.Conns.ClockUsed(),
		log:   cfg.Logger,
		tier:  cfg.Conns.Policy.Tier(),
		subs:  map[*Subscription]struct{}{},
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p, nil
}

// Subscribe returns a new subscription asking for no event yet.
func (p *Publisher) Subscribe() *Subscription {
	s := &Subscription{p: p, ready: make(chan struct{}, 1)}
	p.mu.Lock()
	if !p.closed {
		p.subs[s] = struct{}{}
	}
	p.mu.Unlock()
	return s
}

// Close stops the ticks; subscriptions get no more events. Their queued
// events stay to be taken.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.stop != nil {
		p.stop()
	}
	p.running = false
	clear(p.subs)
}

// wanted returns every event some subscription asks for. p.mu is held.
func (p *Publisher) wanted() Set {
	var all Set
	for s := range p.subs {
		all |= s.set()
	}
	return all
}

// changed is called when a subscription's set changes: it starts the ticks
// if an event needs them. A stopped ticker is started afresh, from a
// baseline taken now.
func (p *Publisher) changed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.running || p.wanted()&(ticked|perSecond) == 0 {
		return
	}
	p.running = true
	p.gen++
	p.fresh = true
	p.schedule(p.gen)
}

// ticked are the events the ticks make.
var ticked = BW | ORCONN | CIRC | CIRCBW | CONNBW | AUDIT

// perSecond are tor's per-second events: while any is asked for, as in
// tor, the seconds go into bw-event-cache, even those this package never
// sends.
var perSecond = BW | CIRCBW | CONNBW | mustSet("STREAM_BW") | mustSet("CELL_STATS")

// schedule arranges the next tick at the next whole second. p.mu is held.
func (p *Publisher) schedule(gen uint64) {
	now := p.clock.Now()
	d := time.Second - time.Duration(now.UnixNano()%int64(time.Second))
	f := func() { p.tick(gen) }
	if tc, ok := p.clock.(interface {
		AfterFunc(time.Duration, func()) func() bool
	}); ok {
		p.stop = tc.AfterFunc(d, f)
		return
	}
	t := time.AfterFunc(d, f)
	p.stop = t.Stop
}

// tick makes one second's events and schedules the next, unless no
// subscription wants any any more.
func (p *Publisher) tick(gen uint64) {
	p.stepMu.Lock()
	defer p.stepMu.Unlock()
	p.mu.Lock()
	if p.closed || gen != p.gen {
		p.mu.Unlock()
		return
	}
	want := p.wanted()
	if want&(ticked|perSecond) == 0 {
		p.running = false
		p.mu.Unlock()
		return
	}
	fresh := p.fresh
	p.fresh = false
	p.mu.Unlock()

	// Reading the view may take a while on a big relay (a live conn/all):
	// not under p.mu, so that subscribing never waits for it.
	if fresh {
		p.state.reset()
	}
	out := p.state.step(p, want)

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || gen != p.gen {
		return
	}
	for _, ev := range out {
		for s := range p.subs {
			s.offer(ev)
		}
	}
	p.schedule(gen)
}

// event is one event line, without its CR LF, and the set it belongs to.
type event struct {
	kind Set
	line string
}

// Subscription is one controller's events: SETEVENTS sets what it asks
// for, and the controller's writer takes what is queued between replies.
// It is safe for concurrent use.
type Subscription struct {
	p     *Publisher
	ready chan struct{}

	mu     sync.Mutex
	events Set
	queue  []event
	lost   uint64
	closed bool
}

// Set replaces the events asked for, as SETEVENTS does. Events already
// queued stay.
func (s *Subscription) Set(events Set) {
	s.mu.Lock()
	s.events = events
	s.mu.Unlock()
	s.p.changed()
}

func (s *Subscription) set() Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// Ready is signalled when events are queued.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// offer queues ev if it is asked for and there is room.
func (s *Subscription) offer(ev event) {
	s.mu.Lock()
	if s.closed || !s.events.Has(ev.kind) {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.p.cfg.QueueLen {
		if s.lost++; s.lost == 1 || s.lost%1024 == 0 {
			s.p.log.Warn("events: a controller is not taking its events; dropping them", "lost", s.lost)
		}
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// AppendPending appends the queued events, each "650 ..." and CR LF, to
// dst, and empties the queue.
func (s *Subscription) AppendPending(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.queue {
		dst = append(append(dst, ev.line...), "\r\n"...)
	}
	clear(s.queue)
	s.queue = s.queue[:0]
	if cap(s.queue) > 256 {
		s.queue = nil // a burst's memory goes with it
	}
	return dst
}

// Lost returns how many events were dropped because the queue was full.
func (s *Subscription) Lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// Close ends the subscription: it gets no more events.
func (s *Subscription) Close() {
	s.mu.Lock()
	s.closed = true
	s.events = 0
	s.queue = nil
	s.mu.Unlock()
	s.p.mu.Lock()
	delete(s.p.subs, s)
	s.p.mu.Unlock()
}
