package options_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/options"
)

func values(v ...string) func() []string { return func() []string { return v } }

func relayOptions(t *testing.T) *options.Set {
	t.Helper()
	s, err := options.New(
		options.Option{Name: "ORPort", Type: "Dependent", Values: values("127.0.0.1:39101")},
		options.Option{Name: "DirPort", Type: "Dependent"},
		options.Option{Name: "Nickname", Type: "String", Values: values("conninfoTest")},
		options.Option{Name: "BandwidthRate", Type: "DataSize", Values: values("1073741824")},
		options.Option{Name: "ExitPolicy", Type: "LineList", Values: values("accept *:80", "reject *:*")},
		options.Option{Name: "ContactInfo", Type: "String", Values: values("a b #c")},
		options.Option{Name: "HashedControlPassword", Type: "LineList", Values: values("16:00FF"), Private: true},
	)
	require.NoError(t, err)
	return s
}

// The replies are tor 0.4.9.11's to the same questions, with the same
// options set, as seen on its control port.
func TestGetConf(t *testing.T) {
	s := relayOptions(t)
	for _, tt := range []struct {
		keys []string
		want string
	}{
		{[]string{"ORPort", "DirPort", "Nickname", "BandwidthRate"}, "250-ORPort=127.0.0.1:39101\r\n250-DirPort\r\n250-Nickname=conninfoTest\r\n250 BandwidthRate=1073741824\r\n"},
		{[]string{"orport"}, "250 ORPort=127.0.0.1:39101\r\n"},
		{[]string{"ExitPolicy"}, "250-ExitPolicy=accept *:80\r\n250 ExitPolicy=reject *:*\r\n"},
		{[]string{"ContactInfo"}, "250 ContactInfo=\"a b #c\"\r\n"},
		{[]string{"__OwningControllerProcess", "Nickname"}, "250-__OwningControllerProcess\r\n250 Nickname=conninfoTest\r\n"},
		{[]string{"Bogus"}, "552 Unrecognized configuration key \"Bogus\"\r\n"},
		{[]string{"Nickname", "Bogus", "X\x1b"}, "552-Unrecognized configuration key \"Bogus\"\r\n552 Unrecognized configuration key \"X\\033\"\r\n"},
		{nil, "250 OK\r\n"},
	} {
		assert.Equal(t, tt.want, string(s.AppendGetConf(nil, tt.keys)), "%q", tt.keys)
	}
	var none *options.Set
	assert.Equal(t, "250 __OwningControllerProcess\r\n", string(none.AppendGetConf(nil, []string{"__owningcontrollerprocess"})), "a nil Set knows stem's option")
}

func TestNamesAndText(t *testing.T) {
	m := getinfo.NewMux()
	relayOptions(t).Register(m)
	names, err := m.AppendInfo(nil, "config/names")
	require.NoError(t, err)
	assert.Equal(t, "__OwningControllerProcess String\nBandwidthRate DataSize\nContactInfo String\nDirPort Dependent\nExitPolicy LineList\nHashedControlPassword LineList\nNickname String\nORPort Dependent", string(names))
	text, err := m.AppendInfo(nil, "config-text")
	require.NoError(t, err)
	assert.Equal(t, "BandwidthRate 1073741824\nContactInfo \"a b #c\"\nExitPolicy accept *:80\nExitPolicy reject *:*\nNickname conninfoTest\nORPort 127.0.0.1:39101", string(text), "no private value")
	assert.Equal(t, "250 HashedControlPassword=16:00FF\r\n", string(relayOptions(t).AppendGetConf(nil, []string{"HashedControlPassword"})), "GETCONF answers it, as tor does")
}

func TestNewErrors(t *testing.T) {
	for name, opts := range map[string][]options.Option{
		"empty name": {{Name: "", Type: "String"}},
		"space":      {{Name: "OR Port", Type: "String"}},
		"no type":    {{Name: "ORPort"}},
		"twice":      {{Name: "ORPort", Type: "Dependent"}, {Name: "orport", Type: "Dependent"}},
	} {
		_, err := options.New(opts...)
		assert.ErrorIs(t, err, options.ErrInvalid, name)
	}
}

func ExampleSet_AppendGetConf() {
	s, _ := options.New(
		options.Option{Name: "Nickname", Type: "String", Values: func() []string { return []string{"myrelay"} }},
		options.Option{Name: "DirPort", Type: "Dependent"}, // unset
	)
	fmt.Printf("%q\n", s.AppendGetConf(nil, []string{"nickname", "DirPort"}))
	// Output: "250-Nickname=myrelay\r\n250 DirPort\r\n"
}
