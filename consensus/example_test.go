package consensus_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/conninfo/conninfo/consensus"
)

// exampleDoc is a consensus with two entries, one of them a directory
// authority.
const exampleDoc = `network-status-version 3
vote-status consensus
valid-after 2026-11-25 12:00:00
fresh-until 2026-11-25 13:00:00
valid-until 2026-11-25 15:00:00
r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131
s Authority Fast Running V2Dir Valid
r exitnode42 IZrZq4oDSqouj+vCFB+Hq7yepQQ gHFEOV7SGTKINmiFIiglb1jdC7w 2026-11-24 23:55:28 203.0.113.42 9001 0
s Exit Fast Running Valid
directory-footer
`

func ExampleParse() {
	c, err := consensus.Parse(strings.NewReader(exampleDoc))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(c.Routers), "routers")
	for _, a := range c.Authorities() {
		fmt.Println(a.Nickname, a.Identity, a.ORPort)
	}
	// Output:
	// 2 routers
	// moria1 9695DFC35FFEB861329B9F1AB04C46397020CE31 9101
}

func ExampleFileSource() {
	dir, err := os.MkdirTemp("", "consensus-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cached-consensus")

	src := consensus.NewFileSource(path)
	answer, err := src.AppendAuthorities(nil)
	fmt.Printf("before: %q %v\n", answer, err)

	if err := os.WriteFile(path, []byte(exampleDoc), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	answer, err = src.AppendAuthorities(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	first, _, _ := bytes.Cut(answer, []byte("\n"))
	fmt.Printf("after: %s\n", first)
	// Output:
	// before: "" <nil>
	// after: r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131
}
