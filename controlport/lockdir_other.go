//go:build !unix

package controlport

// lockDir cannot lock a directory here: two servers listening on one path
// at once race, and the later rename wins.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
