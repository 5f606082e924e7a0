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
//go:embed fixtures/*.conns fixtures/*.reply
var embedded embed.FS

// Fixtures holds conninfo's own fixtures, so that tests in other modules
// can load them: guard, middle, exit, bridge, client, hs (an onion service
// host) and empty, each a file NAME.conns at the root of the FS. Each
// lists its consensus (listed lines) and marks its origin circuits. Beside
// each are its goldens, NAME.TIER.reply (see [Golden]).
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

// GoldenSeed is what getinfo.Conns.Seeds returns for the public tier's
// goldens: the pseudonyms' keys and the rounding's seed, fixed.
const GoldenSeed = 0x5eed

// Golden returns conninfo's reply to "GETINFO conn/all" for the embedded
// fixture name under tier ("public", "testnet" or "unscrubbed"), byte for
// byte, CR LF and all: what a host's own control loop on the same state
// must send. The public tier's is answered at an instant of its epoch
// grid with Seeds returning GoldenSeed.
func Golden(name, tier string) ([]byte, error) {
	b, err := fs.ReadFile(Fixtures, path.Clean(name)+"."+path.Clean(tier)+".reply")
	if err != nil {
		return nil, fmt.Errorf("connstatetest: no golden for fixture %q under tier %q: fixtures %v, tiers public, testnet, unscrubbed", name, tier, FixtureNames())
	}
	return b, nil
}
