package getinfo

import "strconv"

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

// Relay is the family of the relay's bandwidth limits. A nil source leaves
// its keys unregistered, so they are unknown to controllers and absent
// from info/names. The byte totals are [Conns]' keys: they are answered
// from the same view as conn/all, under the same policy.
type Relay struct {
	// Bandwidth returns the current limits; it is called on every answer, so
	// a reload shows at once. It answers info/relay/bw-limit and
	// info/relay/burst-limit, and relay/bw-limit and relay/burst-limit.
	Bandwidth func() Bandwidth
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
}

// uintKey answers a key with a decimal number.
func uintKey(f func() uint64) HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) {
		return strconv.AppendUint(dst, f(), 10), nil
	}
}
