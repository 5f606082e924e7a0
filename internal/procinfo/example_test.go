package procinfo_test

import (
	"fmt"
	"time"

	"github.com/conninfo/conninfo/internal/procinfo"
)

func ExampleStartTime() {
	start, err := procinfo.StartTime()
	if err != nil {
		start = procinfo.Loaded() // the system cannot tell
	}
	fmt.Println(time.Since(start) >= 0)
	// Output: true
}
