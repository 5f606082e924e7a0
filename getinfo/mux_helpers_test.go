package getinfo_test

import (
	"errors"
	"fmt"

	"github.com/conninfo/conninfo/getinfo"
)

// descIDText is tor's own 552 text for desc/id/*.
const descIDText = "We fetch microdescriptors, not router descriptors. You'll need to use md/id/* instead of desc/id/*."

// configText is the config-text value of the transcript.
const configText = "ControlPort 127.0.0.1:41529\nCookieAuthentication 1\nDataDirectory <datadir>\n" +
	"DisableNetwork 1\nLog notice file <tordir>/notice.log\nSocksPort 0\n"

// value returns a handler that answers v for any key.
func value(v string) getinfo.HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) { return append(dst, v...), nil }
}

// fail returns a handler that fails with err after appending junk, which
// must not reach the reply.
func fail(err error) getinfo.HandlerFunc {
	return func(dst []byte, _ string) ([]byte, error) { return append(dst, "junk"...), err }
}

// newTestMux returns a Mux shaped like the tor 0.4.9.11 of the transcripts,
// plus handlers that misbehave.
func newTestMux() *getinfo.Mux {
	m := getinfo.NewMux()
	m.Handle("version", "The current version of Tor.", value("0.4.9.11"))
	m.Handle("uptime", "Uptime of the Tor daemon in seconds.", value("79"))
	m.Handle("traffic/read", "Bytes read since the process was started.", value("0"))
	m.Handle("traffic/written", "Bytes written since the process was started.", value("0"))
	m.Handle("config-text", "Return the string that would be written by a saveconf command.", value(configText))
	m.Handle("dotted", "A value with lines that start with a dot.", value(".dot.example\n.\nplain"))
	m.Handle("list", "Two lines, no final newline.", value("a\nb"))
	m.Handle("cr-value", "A value with a bare CR.", value("a\rb"))
	m.HandlePrefix("ns/", "Brief summary of router status (no consensus: empty).", value(""))
	m.HandlePrefix("dir/status/", "v2 networkstatus docs as retrieved from a DirPort.", value(""))
	m.HandlePrefixFunc("config/", "Current configuration values.", func(dst []byte, key string) ([]byte, error) {
		if key != "config/SocksPort" {
			return dst, getinfo.ErrUnrecognized // the bare prefix and config/* included
		}
		return append(dst, '0'), nil
	})
	for _, k := range []string{"address", "address/v4", "address/v6"} {
		m.Handle(k, "IP address of this Tor host, if we can guess it.", fail(getinfo.Unavailable("Address unknown")))
	}
	m.Handle("fingerprint", "Fingerprint of this relay.", fail(getinfo.Unavailable("Not running in server mode")))
	m.HandlePrefix("desc/id/", "Router descriptors by ID.", fail(getinfo.UnrecognizedWithText(descIDText)))
	m.Handle("broken", "Fails with a private message.", fail(errors.New("dial 10.1.2.3:443: refused")))
	m.HandleFunc("panics", "Panics.", func([]byte, string) ([]byte, error) { panic("boom") })
	m.Handle("unavailable-empty", "Unavailable with no text.", fail(getinfo.Unavailable("")))
	m.Handle("wrapped", "Declines with a wrapped ErrUnrecognized.", fail(fmt.Errorf("no such thing: %w", getinfo.ErrUnrecognized)))

	inner := getinfo.NewMux()
	inner.Handle("inner/x", "Inner key.", value("y"))
	m.HandlePrefix("inner/", "A nested Mux.", inner)
	return m
}
