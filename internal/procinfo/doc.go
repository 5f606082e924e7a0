// Package procinfo reads what the process keys report about this process
// from the operating system: when it started, how many descriptors it has
// open, and its descriptor limit. Each operating system has its own file,
// chosen by build tags; where the system cannot tell, the functions return
// an error wrapping [errors.ErrUnsupported].
//
// Its functions read the system afresh on every call and are safe for
// concurrent use.
package procinfo

import "time"

// loaded is when this package was initialised: the start time of last
// resort, close to the process's own start for a program that links it.
var loaded = time.Now()

// Loaded returns when the package was initialised, for callers that must
// fall back from [StartTime].
func Loaded() time.Time { return loaded }
