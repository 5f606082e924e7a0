package connstatetest

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/conninfo/conninfo/connstate"
)

// embedded holds the fixture files of this package's fixtures directory.
//
//go:embed fixtures/*.conns
var embedded embed.FS

// Fixtures holds conninfo's own fixtures, so that tests in other modules
// can load them: guard, middle, exit, bridge, client, hs (an onion service
// host) and empty, each a file NAME.conns at the root of the FS. Each
// lists its consensus (listed lines) and marks its origin circuits.
var Fixtures fs.FS = mustSub(embedded, "fixtures")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embed pattern above guarantees dir
	}
	return sub
}

// FixtureNames returns the names of the embedded fixtures, sorted: "bridge",
// "client", and so on.
func FixtureNames() []string {
	entries, _ := fs.ReadDir(Fixtures, ".")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".conns"); ok {
			names = append(names, name)
		}
	}
	return names
}

// ReadNamed parses the embedded fixture name ("guard", say).
func ReadNamed(name string) (*Fixture, error) {
	f, err := Fixtures.Open(path.Clean(name) + ".conns")
	if err != nil {
		return nil, fmt.Errorf("connstatetest: no fixture %q: want one of %v", name, FixtureNames())
	}
	defer f.Close()
	fx, err := ParseFixture(f)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	return fx, nil
}

// LoadNamed builds the registry of the embedded fixture name.
func LoadNamed(name string) (*connstate.Registry, *Clock, error) {
	fx, err := ReadNamed(name)
	if err != nil {
		return nil, nil, err
	}
	return fx.Build()
}
