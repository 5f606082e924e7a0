package events

import (
	"strconv"

	"github.com/conninfo/conninfo/getinfo"
)

// BWEventCacheKey is tor's key for the recent BW events.
const BWEventCacheKey = "bw-event-cache"

// Register adds bw-event-cache to m: the counts of the recent BW events,
// "READ,WRITTEN" for each second, oldest first, space-separated, as tor
// answers it. Like tor's, it holds the last 300 seconds in which some
// controller asked for a per-second event (BW, CIRC_BW, CONN_BW,
// STREAM_BW or CELL_STATS), and is empty before any did.
func (p *Publisher) Register(m *getinfo.Mux) {
	m.HandleFunc(BWEventCacheKey, "The counts of the recent BW events, oldest first.", p.appendCache)
}

func (p *Publisher) appendCache(dst []byte, _ string) ([]byte, error) {
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	for i, s := range p.cache {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = strconv.AppendUint(dst, s.read, 10)
		dst = append(dst, ',')
		dst = strconv.AppendUint(dst, s.written, 10)
	}
	return dst, nil
}
