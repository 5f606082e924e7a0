package options

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/cescape"
)

// ErrInvalid is wrapped by the errors of [New].
var ErrInvalid = errors.New("options: invalid option")

// OwningControllerProcess is the option stem asks for on connecting; a
// Set always knows it, unset unless the host registers it.
const OwningControllerProcess = "__OwningControllerProcess"

// Option is one configuration option a host registers for GETCONF.
type Option struct {
	// Name is tor's canonical name, as GETCONF echoes it: ORPort,
	// Nickname, BandwidthRate, ...
	Name string
	// Type is the type config/names prints for it, as tor does: Dependent
	// for the ports, String, DataSize, LineList, Boolean, Integer, ...
	Type string
	// Values returns the option's current values, one for each of its
	// lines (a LineList has several); none means it is unset, and GETCONF
	// names it without a value, as tor does. nil is an option that is
	// never set.
	Values func() []string
	// Private keeps the option's values out of config-text (and so out of
	// a torrc written from it, and nyx's screens): GETCONF still answers
	// them, as tor does, for a controller that authenticated. For a
	// secret's hash, such as HashedControlPassword's.
	Private bool
}

// Set is the options a host answers GETCONF for. It is immutable once
// made and safe for concurrent use; the Values functions must be too.
type Set struct {
	opts []Option // sorted as tor sorts config/names: strcasecmp
}

// New returns the set of opts. A name must be one word of letters,
// digits and underscores, given once (in any case), with a type of one
// word; [OwningControllerProcess] is added, unset, if absent.
func New(opts ...Option) (*Set, error) {
	s := &Set{opts: slices.Clone(opts)}
	seen := map[string]bool{}
	for _, o := range s.opts {
		switch {
		case !isName(o.Name):
			return nil, fmt.Errorf("%w: name %q: want letters, digits and underscores", ErrInvalid, o.Name)
		case !isName(o.Type):
			return nil, fmt.Errorf("%w: %s: type %q: want one word", ErrInvalid, o.Name, o.Type)
		case seen[strings.ToLower(o.Name)]:
			return nil, fmt.Errorf("%w: %s given twice", ErrInvalid, o.Name)
		}
		seen[strings.ToLower(o.Name)] = true
	}
	if !seen[strings.ToLower(OwningControllerProcess)] {
		s.opts = append(s.opts, Option{Name: OwningControllerProcess, Type: "String"})
	}
	slices.SortFunc(s.opts, func(a, b Option) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return s, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '+') {
			return false
		}
	}
	return true
}

// lookup finds an option by name, in any case of ASCII letters, as tor
// does. A nil Set knows only OwningControllerProcess.
func (s *Set) lookup(name string) (Option, bool) {
	if s == nil {
		if protocol.EqualFold(name, OwningControllerProcess) {
			return Option{Name: OwningControllerProcess, Type: "String"}, true
		}
		return Option{}, false
	}
	for _, o := range s.opts {
		if protocol.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return Option{}, false
}

func (o Option) values() []string {
	if o.Values == nil {
		return nil
	}
	return o.Values()
}

// AppendGetConf appends the whole reply to GETCONF with keys, as tor
// answers it: a line for each value of each key, "250-Name=value", the
// last "250 ", an unset option as its bare name, the name always in its
// canonical case; "250 OK" for no key; and if any key is unknown only the
// lines `552 Unrecognized configuration key "KEY"` (the key echoed as
// sent, escaped if it holds a control byte). A value is quoted, with C
// escapes, when tor would quote it: when it starts with a quote or holds
// a CR, a LF, a '#' or a byte outside printable ASCII.
func (s *Set) AppendGetConf(dst []byte, keys []string) []byte {
	var unknown []string
	var lines []string
	for _, k := range keys {
		o, ok := s.lookup(k)
		if !ok {
			unknown = append(unknown, `Unrecognized configuration key "`+string(cescape.AppendEcho(nil, k))+`"`)
			continue
		}
		vals := o.values()
		if len(vals) == 0 {
			lines = append(lines, o.Name)
		}
		for _, v := range vals {
			lines = append(lines, o.Name+"="+quoteValue(v))
		}
	}
	switch {
	case len(unknown) > 0:
		return getinfo.AppendStatusReply(dst, 552, unknown...)
	case len(lines) == 0:
		return append(dst, "250 OK\r\n"...)
	}
	return getinfo.AppendStatusReply(dst, 250, lines...)
}

// quoteValue quotes v as tor's config_get_assigned_option does.
func quoteValue(v string) string {
	needs := strings.HasPrefix(v, `"`)
	for i := 0; i < len(v) && !needs; i++ {
		c := v[i]
		needs = c == '\r' || c == '\n' || c == '#' || c < 0x20 && c != '\t' || c >= 0x7f
	}
	if !needs {
		return v
	}
	return string(cescape.AppendQuoted(nil, v))
}

// Register adds config/names and config-text to m:
//
//   - config/names: "Name Type" for each option, sorted by name without
//     regard to case, as tor lists its own (tor lists every option it
//     has; a Set lists those registered);
//   - config-text: "Name value" for each value of each option that is
//     set, as tor lists the options not at their defaults, but the
//     Private ones.
func (s *Set) Register(m *getinfo.Mux) {
	m.HandleFunc("config/names", "The configuration options GETCONF answers, with their types.", s.appendNames)
	m.HandleFunc("config-text", "The configuration options that are set, one value a line.", s.appendText)
}

func (s *Set) appendNames(dst []byte, _ string) ([]byte, error) {
	for i, o := range s.opts {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(append(append(dst, o.Name...), ' '), o.Type...)
	}
	return dst, nil
}

func (s *Set) appendText(dst []byte, _ string) ([]byte, error) { return s.AppendText(dst), nil }

// AppendText appends config-text's value: "Name value" for each value of
// each option that is set but the Private ones, joined by "\n", as a
// torrc would hold them.
func (s *Set) AppendText(dst []byte) []byte {
	n := len(dst)
	for _, o := range s.opts {
		if o.Private {
			continue
		}
		for _, v := range o.values() {
			if len(dst) > n {
				dst = append(dst, '\n')
			}
			dst = append(append(append(dst, o.Name...), ' '), quoteValue(v)...)
		}
	}
	return dst
}
