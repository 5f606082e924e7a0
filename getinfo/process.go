package getinfo

import (
	"math/rand/v2"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/procinfo"
	"github.com/conninfo/conninfo/scrub"
)

// DefaultReservedDescriptors is how many descriptors tor keeps for itself
// (its ULIMIT_BUFFER), subtracted from the soft limit in
// process/descriptor-limit.
const DefaultReservedDescriptors = 32

// Process is the family of the process keys: uptimes, descriptor counts
// and limits, pid, uid and user. The host reports resets (SIGHUP, or a
// controller's SIGNAL RELOAD) with [Process.Reset], so it keeps the
// *Process it registered.
//
// A Process is safe for concurrent use; do not change or copy it once
// registered.
type Process struct {
	// Clock is what the uptimes read; nil means the real clock.
	Clock connstate.Clock
	// Start is when the process started, as read from Clock. The zero time
	// means: from the operating system with the real clock (/proc on
	// Linux, the process table on darwin, the creation time on Windows;
	// elsewhere, when conninfo was loaded), or Clock's reading when first
	// used with any other clock.
	Start time.Time
	// ReservedDescriptors is how many descriptors the host keeps back from
	// the soft limit in process/descriptor-limit; 0 means
	// [DefaultReservedDescriptors].
	ReservedDescriptors uint64
	// Policy is the privacy tier of the descriptor count, which moves with
	// every connection: under the public tier, the zero Policy, it is read
	// once an epoch and rounded to [PublicDescriptorRound] with an offset
	// drawn afresh each epoch, so that neither polling it nor calibrating
	// it with descriptors of one's own dates a connection's opening or
	// closing; the other tiers answer it live.
	Policy scrub.Policy

	once      sync.Once
	clock     connstate.Clock
	start     time.Time // on clock
	mu        sync.Mutex
	lastReset time.Time // on clock
	// The public tier's descriptor count: the epoch it was read in, and
	// the rounded count. Guarded by mu.
	usedEpoch int64
	used      int
	usedOK    bool
}

// PublicDescriptorRound is the multiple to which the public tier rounds
// the descriptor count: a relay's connections come and go by the dozen,
// and one, or a few an attacker opens to calibrate, must not show.
const PublicDescriptorRound = 64

// init settles the clock and the start on first use.
func (p *Process) init() {
	p.once.Do(func() {
		p.clock = p.Clock
		if p.clock == nil {
			p.clock = connstate.RealClock()
		}
		now := p.clock.Now()
		p.start = p.Start
		if p.start.IsZero() {
			p.start = now
			if p.Clock == nil {
				p.start = osStart(now)
			}
		}
		p.mu.Lock()
		p.lastReset = p.start
		p.mu.Unlock()
	})
}

// osStart converts the OS's wall-clock start into a reading on now's
// monotonic clock, so that uptimes never jump with the wall clock.
func osStart(now time.Time) time.Time {
	start, err := procinfo.StartTime()
	if err != nil {
		start = procinfo.Loaded()
	}
	return now.Add(-max(now.Sub(start), 0))
}

// Reset records a reset now: info/uptime-reset counts from here.
func (p *Process) Reset() {
	p.init()
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastReset = now
}

// Uptime returns the time since the process started.
func (p *Process) Uptime() time.Duration {
	p.init()
	return max(p.clock.Now().Sub(p.start), 0)
}

// SinceReset returns the time since the last reset, or since the start if
// there was none.
func (p *Process) SinceReset() time.Duration {
	p.init()
	p.mu.Lock()
	last := p.lastReset
	p.mu.Unlock()
	return max(p.clock.Now().Sub(last), 0)
}

// Register mounts the process keys on m, under the proposal's names and
// tor's. Descriptor keys are left out where the operating system cannot
// count descriptors.
func (p *Process) Register(m *Mux) {
	p.init()
	seconds := func(d func() time.Duration) HandlerFunc {
		return func(dst []byte, _ string) ([]byte, error) {
			return strconv.AppendInt(dst, int64(d()/time.Second), 10), nil
		}
	}
	uptime := seconds(p.Uptime)
	m.Handle("info/uptime-process", "Seconds since the process started (proposal name).", uptime)
	m.Handle("process/uptime", "Seconds since the process started (proposal 173 name).", uptime)
	m.Handle("uptime", "Seconds since the process started.", uptime)
	sinceReset := seconds(p.SinceReset)
	m.Handle("info/uptime-reset", "Seconds since the process started or was last reset by SIGHUP or RELOAD (proposal name).", sinceReset)
	m.Handle("process/uptime-reset", "Seconds since the process started or was last reset by SIGHUP or RELOAD (proposal 173 name).", sinceReset)

	if _, err := procinfo.OpenDescriptors(); err == nil {
		used := HandlerFunc(func(dst []byte, _ string) ([]byte, error) {
			n, err := p.descriptorsUsed()
			if err != nil {
				return dst, Unavailable("Open descriptors unknown")
			}
			return strconv.AppendInt(dst, int64(n), 10), nil
		})
		m.Handle("info/descriptor-used", "Number of file descriptors the process has open (proposal name).", used)
		m.Handle("process/descriptors-used", "Number of file descriptors the process has open (proposal 173 name).", used)
	}
	if _, err := procinfo.DescriptorLimit(); err == nil {
		m.Handle("info/descriptor-limit", "Soft limit on the process's file descriptors (proposal name).", p.limit(0))
		reserved := p.ReservedDescriptors
		if reserved == 0 {
			reserved = DefaultReservedDescriptors
		}
		m.Handle("process/descriptor-limit", "File descriptors available for connections: the soft limit less those held in reserve.", p.limit(reserved))
	}

	m.HandleFunc("process/pid", "Process ID of this process.", func(dst []byte, _ string) ([]byte, error) {
		return strconv.AppendInt(dst, int64(os.Getpid()), 10), nil
	})
	m.HandleFunc("process/uid", "Effective user ID of this process, or -1 where there is none.", func(dst []byte, _ string) ([]byte, error) {
		return strconv.AppendInt(dst, int64(os.Geteuid()), 10), nil
	})
	m.HandleFunc("process/user", "Name of the effective user of this process, empty when unknown.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, userName()...), nil
	})
}

// descriptorsUsed is the descriptor count as the policy lets it be shown:
// live, or under the public tier read at the first question of each epoch
// and rounded with that epoch's offset.
func (p *Process) descriptorsUsed() (int, error) {
	length := p.Policy.EpochLength()
	if length == 0 {
		return procinfo.OpenDescriptors()
	}
	k := epochIndex(p.clock.Now(), length)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.usedOK || p.usedEpoch != k {
		n, err := procinfo.OpenDescriptors()
		if err != nil {
			return 0, err
		}
		// A fresh offset each epoch: with a fixed one, whoever opens
		// descriptors of their own could sit one below a step and see a
		// single connection open.
		p.used = int(scrub.RoundWithOffset(uint64(n), PublicDescriptorRound, rand.Uint64N(PublicDescriptorRound)))
		p.usedEpoch, p.usedOK = k, true
	}
	return p.used, nil
}

// limit answers the soft descriptor limit less reserve, never below zero.
func (p *Process) limit(reserve uint64) HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) {
		n, err := procinfo.DescriptorLimit()
		if err != nil {
			return dst, Unavailable("Descriptor limit unknown")
		}
		return strconv.AppendUint(dst, n-min(n, reserve), 10), nil
	}
}

// userName looks up the effective user's name; "" when it cannot, as tor
// answers process/user then.
func userName() string {
	uid := os.Geteuid()
	if uid < 0 {
		if u, err := user.Current(); err == nil {
			return u.Username
		}
		return ""
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}
