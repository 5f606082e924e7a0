package getinfo

import (
	"strconv"

	"github.com/conninfo/conninfo/connstate"
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

// Relay is the family of the relay keys: the bandwidth limits and the
// byte totals. A nil source leaves its keys unregistered, so they are
// unknown to controllers and absent from info/names.
type Relay struct {
	// Bandwidth returns the current limits; it is called on every answer, so
	// a reload shows at once. It answers info/relay/bw-limit and
	// info/relay/burst-limit, and relay/bw-limit and relay/burst-limit.
	Bandwidth func() Bandwidth
	// Totals returns the byte totals, closed connections included; a
	// *connstate.Registry's Totals method fits. It answers
	// info/relay/read-total and info/relay/write-total (and relay/read-total,
	// relay/write-total), and tor's traffic/read and traffic/written.
	Totals func() connstate.Totals
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
	if t := r.Totals; t != nil {
		read := uintKey(func() uint64 { return t().RelayRead })
		m.Handle("info/relay/read-total", "Bytes read on relaying connections since start, closed ones included (proposal name).", read)
		m.Handle("relay/read-total", "Bytes read on relaying connections since start, closed ones included (proposal 173 name).", read)
		written := uintKey(func() uint64 { return t().RelayWritten })
		m.Handle("info/relay/write-total", "Bytes written on relaying connections since start, closed ones included (proposal name).", written)
		m.Handle("relay/write-total", "Bytes written on relaying connections since start, closed ones included (proposal 173 name).", written)
		m.Handle("traffic/read", "Bytes read since start on connections to non-loopback peers, control connections excluded.", uintKey(func() uint64 { return t().TrafficRead }))
		m.Handle("traffic/written", "Bytes written since start on connections to non-loopback peers, control connections excluded.", uintKey(func() uint64 { return t().TrafficWritten }))
	}
}

// uintKey answers a key with a decimal number.
func uintKey(f func() uint64) HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) {
		return strconv.AppendUint(dst, f(), 10), nil
	}
}
