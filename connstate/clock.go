package connstate

import "time"

// Clock supplies the registry's notion of now. Uptimes are differences of
// two readings, so a Clock must not go backwards while a registry uses it:
// the real clock's readings carry Go's monotonic clock and never do.
//
// A Clock must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock returns the clock that registries use by default: [time.Now],
// whose readings carry the monotonic clock.
func RealClock() Clock { return realClock{} }
