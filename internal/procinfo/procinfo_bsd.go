//go:build darwin || freebsd

package procinfo

// OpenDescriptors counts the entries of /dev/fd (fdescfs), less the one
// the count itself opens. On FreeBSD without fdescfs mounted, /dev/fd shows
// only 0, 1 and 2; mount fdescfs for a true count.
func OpenDescriptors() (int, error) { return countDir("/dev/fd") }
