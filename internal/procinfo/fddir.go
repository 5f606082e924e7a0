//go:build linux || darwin || freebsd

package procinfo

import (
	"fmt"
	"os"
)

// countDir counts the entries of a descriptor directory, less the
// descriptor that reading it opens.
func countDir(path string) (int, error) {
	d, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("procinfo: open descriptors: %w", err)
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if err != nil || len(names) == 0 {
			break
		}
	}
	return max(n-1, 0), nil
}
