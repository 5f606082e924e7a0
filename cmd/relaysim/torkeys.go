package main

import (
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/options"
)

// nickname is relaysim's own; its fingerprint is derived from it, as the
// peers' are from their numbers.
const nickname = "relaysim"

var ownFingerprint = connstate.Fingerprint(sha1.Sum([]byte("relaysim itself")))

// self is the simulated relay's entry in its own consensus, so that
// controllers find its flags (ns/id/<fingerprint>) as a listed relay's.
func (s *simulation) self() consensus.RouterStatus {
	or := s.orL.Addr().(*net.TCPAddr).AddrPort()
	dir := s.dirL.Addr().(*net.TCPAddr).AddrPort()
	return consensus.RouterStatus{
		Nickname: nickname, Identity: ownFingerprint,
		Addr: or.Addr().Unmap(), ORPort: or.Port(), DirPort: dir.Port(),
		Flags: []string{"Exit", "Fast", "Running", "V2Dir", "Valid"},
	}
}

// setup is what relaysim answers about itself besides its connections.
type setup struct {
	sim        *simulation // nil when serving a fixture
	control    func() net.Addr
	configFile string
	auth       string
	hash       string // HashedControlPassword, with -auth password
	scenario   string // -scenario: private-exit and non-exit-streams change the options
}

// exitPolicy is the simulated exit's: its streams go to the local
// destination server only.
func (s *simulation) exitPolicy() []string {
	return []string{"accept " + s.far.dest.String(), "reject *:*"}
}

// exitPolicy is the policy the relay says it has: the simulated exit's,
// or, with the scenario non-exit-streams, a non-exit's while its streams
// go on.
func (st setup) exitPolicy() []string {
	if st.scenario == scenarioNonExitStreams || st.sim == nil {
		return []string{"reject *:*"}
	}
	return st.sim.exitPolicy()
}

// auditSetup is what the relay's own audit knows of its policy, as its
// options say it.
func (st setup) auditSetup() audit.State {
	return audit.State{Exit: st.scenario != scenarioNonExitStreams, RejectPrivate: st.scenario == scenarioPrivateExit}
}

// relay returns the family of the relay's own keys: its limits and, when
// simulating, tor's standard keys of its identity and listeners.
func (st setup) relay() *getinfo.Relay {
	r := &getinfo.Relay{
		Bandwidth:     func() getinfo.Bandwidth { return bandwidth },
		VersionStatus: func() string { return "unknown" }, // the simulated consensus recommends no version
		Accounting:    func() bool { return false },
		NoGeoIP:       true,
		ConfigFile:    st.configFile,
		Listeners: map[string]func() []net.Addr{
			"control": func() []net.Addr { return []net.Addr{st.control()} },
			"socks":   func() []net.Addr { return nil },
		},
	}
	if sim := st.sim; sim != nil {
		r.Fingerprint = func() (connstate.Fingerprint, bool) { return ownFingerprint, true }
		r.Address = func() (netip.Addr, bool) { return sim.host, true }
		r.ExitPolicy = st.exitPolicy
		r.Listeners["or"] = func() []net.Addr { return []net.Addr{sim.orAddr()} }
		r.Listeners["dir"] = func() []net.Addr { return []net.Addr{sim.dirAddr()} }
	} else {
		r.Listeners["or"] = func() []net.Addr { return nil }
		r.Listeners["dir"] = func() []net.Addr { return nil }
	}
	return r
}

// options are relaysim's configuration options, by tor's names and types,
// as GETCONF answers them: the ones stem and nyx ask for.
func (st setup) options() (*options.Set, error) {
	set := func(v ...string) func() []string { return func() []string { return v } }
	none := func() []string { return nil }
	portOf := func(f func() net.Addr) func() []string {
		return func() []string { return []string{strconv.Itoa(f().(*net.TCPAddr).Port)} }
	}
	bw := func(n uint64) func() []string { return set(strconv.FormatUint(n, 10)) }
	opts := []options.Option{
		{Name: "ControlPort", Type: "Dependent", Values: portOf(st.control)},
		{Name: "Nickname", Type: "String", Values: none},
		{Name: "ORPort", Type: "Dependent", Values: set("0")},
		{Name: "DirPort", Type: "Dependent", Values: none},
		{Name: "ExitRelay", Type: "Boolean+Auto", Values: set("0")},
		{Name: "ExitPolicy", Type: "LineList", Values: none},
		{Name: "BandwidthRate", Type: "DataSize", Values: bw(bandwidth.Rate)},
		{Name: "BandwidthBurst", Type: "DataSize", Values: bw(bandwidth.Burst)},
		{Name: "RelayBandwidthRate", Type: "DataSize", Values: bw(bandwidth.RelayRate)},
		{Name: "RelayBandwidthBurst", Type: "DataSize", Values: bw(bandwidth.RelayBurst)},
		{Name: "MaxAdvertisedBandwidth", Type: "DataSize", Values: bw(bandwidth.Rate)},
		{Name: "DisableDebuggerAttachment", Type: "Boolean", Values: set("1")},
		// Everything is on loopback, which a policy rejecting private
		// addresses would reject: the scenario private-exit says it does.
		{Name: "ExitPolicyRejectPrivate", Type: "Boolean", Values: set(boolText(st.scenario == scenarioPrivateExit))},
		{Name: "CookieAuthentication", Type: "Boolean", Values: set(boolText(st.auth == "cookie"))},
		{Name: "HashedControlPassword", Type: "LineList", Values: none, Private: true}, // GETCONF only: never in the torrc written
		{Name: "ControlSocket", Type: "LineList", Values: none},
		{Name: "SocksPort", Type: "Dependent", Values: set("0")},
		{Name: "BridgeRelay", Type: "Boolean", Values: set("0")},
		{Name: "UseMicrodescriptors", Type: "Boolean+Auto", Values: set("auto")},
		{Name: "HiddenServiceOptions", Type: "Virtual", Values: none},
		{Name: "PidFile", Type: "Filename", Values: none},
		{Name: "Log", Type: "LineList", Values: set("notice stdout")},
	}
	for i := range opts {
		if opts[i].Name == "HashedControlPassword" && st.hash != "" {
			opts[i].Values = set(st.hash) // as tor shows its own to a controller
		}
	}
	if sim := st.sim; sim != nil {
		for i := range opts {
			switch opts[i].Name {
			case "Nickname":
				opts[i].Values = set(nickname)
			case "ORPort":
				opts[i].Values = portOf(sim.orAddr)
			case "DirPort":
				opts[i].Values = portOf(sim.dirAddr)
			case "ExitRelay":
				opts[i].Values = set(boolText(st.scenario != scenarioNonExitStreams))
			case "ExitPolicy":
				opts[i].Values = st.exitPolicy
			}
		}
	}
	return options.New(opts...)
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// writeConfigFile writes relaysim's options to path as a torrc would
// hold them, for config-file (and nyx's torrc page).
func writeConfigFile(path string, set *options.Set) error {
	text := set.AppendText([]byte("# relaysim's options, as GETCONF answers them\n"))
	if err := os.WriteFile(path, append(text, '\n'), 0o600); err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return nil
}
