package getinfo

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/cescape"
)

// Bandwidth is the relay's configured rate limits, in bytes per second, as
// the host's configuration holds them. A zero relay value means the option
// is not set.
type Bandwidth struct {
	Rate       uint64 // BandwidthRate
	Burst      uint64 // BandwidthBurst
	RelayRate  uint64 // RelayBandwidthRate; overrides Rate for relayed traffic when set
	RelayBurst uint64 // RelayBandwidthBurst; overrides Burst for relayed traffic when set
}

// Limit returns the effective relayed rate: RelayRate if set, else Rate.
func (b Bandwidth) Limit() uint64 {
	if b.RelayRate != 0 {
		return b.RelayRate
	}
	return b.Rate
}

// BurstLimit returns the effective relayed burst: RelayBurst if set, else Burst.
func (b Bandwidth) BurstLimit() uint64 {
	if b.RelayBurst != 0 {
		return b.RelayBurst
	}
	return b.Burst
}

// Relay is the family of what the relay says about itself: its bandwidth
// limits and tor's standard keys of a relay's identity and setup. A nil
// source leaves its keys unregistered, so they are unknown to controllers
// and absent from info/names. All of it is the relay's own, public or
// local information, the same in every tier. The byte totals are
// [Conns]' keys: they are answered from the same view as conn/all, under
// the same policy.
type Relay struct {
	// Bandwidth returns the current limits; it is called on every answer, so
	// a reload shows at once. It answers info/relay/bw-limit and
	// info/relay/burst-limit, and relay/bw-limit and relay/burst-limit.
	Bandwidth func() Bandwidth

	// Fingerprint returns the relay's identity for fingerprint; false, as
	// for a tor that is not a relay, answers "551 Not running in server
	// mode".
	Fingerprint func() (connstate.Fingerprint, bool)
	// Address returns the relay's public address for address; false
	// answers tor's "551 Address unknown".
	Address func() (netip.Addr, bool)
	// ConfigFile is the path config-file answers (the host's own file).
	ConfigFile string
	// VersionStatus answers status/version/current with one of tor's
	// words: recommended, obsolete, new, new in series, unrecommended, or
	// unknown, as tor answers without a consensus.
	VersionStatus func() string
	// ExitPolicy answers exit-policy/full: the relay's policy, a rule a
	// line ("reject *:*" for a non-exit), as tor writes it.
	ExitPolicy func() []string
	// Listeners answers net/listeners/<kind> for each kind it holds (or,
	// dir, control, socks, ... as tor names them): the addresses listened
	// on, each quoted, space-separated, as tor answers (a unix socket as
	// "unix:PATH"). A kind whose function returns none answers empty.
	Listeners map[string]func() []net.Addr
	// Accounting answers accounting/enabled: "1" if the relay limits its
	// traffic per accounting period, else "0".
	Accounting func() bool
	// GeoIP, if set, answers ip-to-country/<address> with a two-letter
	// country code (false: "??", as tor answers an address it has no
	// country for).
	GeoIP func(netip.Addr) (string, bool)
	// NoGeoIP mounts ip-to-country/ without GeoIP: every address answers
	// tor's "551 GeoIP data not loaded", which controllers (nyx) take to
	// mean there is none, and stop asking.
	NoGeoIP bool
}

// Register mounts the relay keys whose sources are set on m.
func (r *Relay) Register(m *Mux) {
	if bw := r.Bandwidth; bw != nil {
		limit := uintKey(func() uint64 { return bw().Limit() })
		m.Handle("info/relay/bw-limit", "Effective relayed rate limit in bytes per second: RelayBandwidthRate if set, else BandwidthRate (proposal name).", limit)
		m.Handle("relay/bw-limit", "Effective relayed rate limit in bytes per second: RelayBandwidthRate if set, else BandwidthRate (proposal 173 name).", limit)
		burst := uintKey(func() uint64 { return bw().BurstLimit() })
		m.Handle("info/relay/burst-limit", "Effective relayed burst limit in bytes: RelayBandwidthBurst if set, else BandwidthBurst (proposal name).", burst)
		m.Handle("relay/burst-limit", "Effective relayed burst limit in bytes: RelayBandwidthBurst if set, else BandwidthBurst (proposal 173 name).", burst)
	}
	r.registerIdentity(m)
}

// registerIdentity mounts tor's standard keys whose sources are set.
func (r *Relay) registerIdentity(m *Mux) {
	if f := r.Fingerprint; f != nil {
		m.HandleFunc("fingerprint", "The relay's identity fingerprint.", func(dst []byte, _ string) ([]byte, error) {
			fp, ok := f()
			if !ok {
				return dst, Unavailable("Not running in server mode")
			}
			return fp.AppendText(dst), nil
		})
	}
	if f := r.Address; f != nil {
		m.HandleFunc("address", "The relay's public address.", func(dst []byte, _ string) ([]byte, error) {
			a, ok := f()
			if !ok {
				return dst, Unavailable("Address unknown")
			}
			return a.AppendTo(dst), nil
		})
	}
	if path := r.ConfigFile; path != "" {
		m.HandleFunc("config-file", "The relay's configuration file.", func(dst []byte, _ string) ([]byte, error) {
			return append(dst, path...), nil
		})
	}
	if f := r.VersionStatus; f != nil {
		m.HandleFunc("status/version/current", "Whether the consensus recommends this version.", func(dst []byte, _ string) ([]byte, error) {
			return append(dst, f()...), nil
		})
	}
	if f := r.ExitPolicy; f != nil {
		m.HandleFunc("exit-policy/full", "The relay's exit policy, a rule a line.", func(dst []byte, _ string) ([]byte, error) {
			return append(dst, strings.Join(f(), "\n")...), nil
		})
	}
	for _, kind := range slices.Sorted(maps.Keys(r.Listeners)) {
		f := r.Listeners[kind]
		m.HandleFunc("net/listeners/"+kind, "The addresses the relay listens on for "+kind+" connections, each quoted.", func(dst []byte, _ string) ([]byte, error) {
			for i, a := range f() {
				if i > 0 {
					dst = append(dst, ' ')
				}
				dst = cescape.AppendQuoted(dst, listenerText(a))
			}
			return dst, nil
		})
	}
	if f := r.Accounting; f != nil {
		m.HandleFunc("accounting/enabled", "1 if the relay limits its traffic per accounting period, else 0.", func(dst []byte, _ string) ([]byte, error) {
			if f() {
				return append(dst, '1'), nil
			}
			return append(dst, '0'), nil
		})
	}
	geo := r.GeoIP
	if geo == nil && !r.NoGeoIP {
		return
	}
	m.HandlePrefixFunc("ip-to-country/", "The country of an address, from the relay's GeoIP data.", func(dst []byte, key string) ([]byte, error) {
		if geo == nil {
			return dst, Unavailable("GeoIP data not loaded")
		}
		a, err := netip.ParseAddr(strings.TrimPrefix(key, "ip-to-country/"))
		if err != nil {
			return dst, ErrUnrecognized
		}
		cc, ok := geo(a)
		if !ok {
			cc = "??"
		}
		return append(dst, cc...), nil
	})
}

// listenerText writes a listener's address as tor does: "IP:PORT" (an
// IPv6 address in brackets), or "unix:PATH".
func listenerText(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().String()
	case *net.UnixAddr:
		return "unix:" + a.Name
	}
	return a.String()
}

// uintKey answers a key with a decimal number.
func uintKey(f func() uint64) HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) {
		return strconv.AppendUint(dst, f(), 10), nil
	}
}
