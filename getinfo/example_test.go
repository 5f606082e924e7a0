package getinfo_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

func ExampleMux() {
	m := getinfo.NewMux()
	m.HandleFunc("version", "The current version of Tor.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	})
	m.HandlePrefixFunc("ns/", "Brief summary of router status.", func(dst []byte, key string) ([]byte, error) {
		if key == "ns/" {
			return dst, getinfo.ErrUnrecognized // a bare prefix is no key
		}
		return dst, nil // no consensus yet: an empty value
	})

	for _, key := range []string{"version", "ns/all", "ns/", "VERSION"} {
		v, err := m.Answer(nil, key)
		fmt.Printf("%s: %q %v\n", key, v, err)
	}
	fmt.Printf("%s\n", getinfo.AppendNames(nil, m.Names()))
	// Output:
	// version: "0.4.9.11" <nil>
	// ns/all: "" <nil>
	// ns/: "" getinfo: 552 Unrecognized key "ns/"
	// VERSION: "" getinfo: 552 Unrecognized key "VERSION"
	// ns/* -- Brief summary of router status.
	// version -- The current version of Tor.
}

func ExampleWriteReply() {
	m := getinfo.NewMux()
	m.Handle("version", "The current version of Tor.", getinfo.HandlerFunc(func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	}))
	m.HandleFunc("config-text", "The configuration as saveconf would write it.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "ControlPort 9051\n.hidden 1\n"...), nil
	})
	m.HandleFunc("address", "IP address of this Tor host, if we can guess it.", func(dst []byte, _ string) ([]byte, error) {
		return dst, getinfo.Unavailable("Address unknown")
	})

	// Show each CR LF as a visible \r\n at the end of the line.
	crlf := strings.NewReplacer("\r\n", `\r\n`+"\n")
	for _, args := range []string{"version  config-text", "version nosuchkey", "version address"} {
		var b strings.Builder
		if err := getinfo.WriteReply(&b, m, getinfo.SplitKeys(args)); err != nil {
			fmt.Println(err)
		}
		fmt.Print(crlf.Replace(b.String()))
	}
	// Output:
	// 250-version=0.4.9.11\r\n
	// 250+config-text=\r\n
	// ControlPort 9051\r\n
	// ..hidden 1\r\n
	// .\r\n
	// 250 OK\r\n
	// 552 Unrecognized key "nosuchkey"\r\n
	// 551 Address unknown\r\n
}

func ExampleMux_Answer() {
	m := getinfo.NewMux()
	m.HandleFunc("address", "IP address of this Tor host, if we can guess it.", func(dst []byte, _ string) ([]byte, error) {
		return dst, getinfo.Unavailable("Address unknown")
	})
	m.HandleFunc("broken", "A handler that fails.", func(dst []byte, _ string) ([]byte, error) {
		return dst, os.ErrPermission
	})

	for _, key := range []string{"address", "broken", "nosuchkey"} {
		_, err := m.Answer(nil, key)
		var e *getinfo.Error
		if errors.As(err, &e) {
			fmt.Printf("%s: %d %s\n", e.Key, e.Code, e.Text)
		}
		fmt.Println("  unrecognized:", errors.Is(err, getinfo.ErrUnrecognized),
			"internal:", errors.Is(err, getinfo.ErrInternal),
			"cause kept:", errors.Is(err, os.ErrPermission))
	}
	// Output:
	// address: 551 Address unknown
	//   unrecognized: false internal: true cause kept: false
	// broken: 551 Internal error
	//   unrecognized: false internal: true cause kept: true
	// nosuchkey: 552 Unrecognized key "nosuchkey"
	//   unrecognized: true internal: false cause kept: false
}

// A host's own dispatcher keeps a ReplyWriter per controller connection,
// so that its buffers serve every reply: here, the commands come from a
// string and the replies go to standard output.
func ExampleReplyWriter() {
	reg := connstate.NewRegistry()
	c, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true})
	c.AddRead(262144)
	mux := getinfo.NewMux()
	// The public tier, the default: bytes to 256 KiB, IDs as pseudonyms (their
	// keys fixed here so that the output is reproducible: leave Seeds nil).
	(&getinfo.Conns{Source: reg, Seeds: func() uint64 { return 1 }}).Register(mux)
	mux.HandleFunc("version", "The current version of Tor.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	})

	var replies getinfo.ReplyWriter // one per connection
	out := crlfVisible{os.Stdout}
	commands := bufio.NewScanner(strings.NewReader("GETINFO version conn/all\r\nGETINFO nosuchkey\r\nSIGNAL NEWNYM\r\n"))
	for commands.Scan() {
		cmd, args, _ := strings.Cut(strings.TrimSuffix(commands.Text(), "\r"), " ")
		switch cmd {
		case "GETINFO":
			if err := replies.Write(out, mux, getinfo.SplitKeys(args)); err != nil {
				return // the controller is gone
			}
		default:
			out.Write(getinfo.AppendStatusReply(nil, 510, `Unrecognized command "`+cmd+`"`))
		}
	}
	// Output:
	// 250-version=0.4.9.11\r\n
	// 250-conn/all=4219976324287089 0 0 0 0 IRt 262144 0 0\r\n
	// 250 OK\r\n
	// 552 Unrecognized key "nosuchkey"\r\n
	// 510 Unrecognized command "SIGNAL"\r\n
}

// A reply of several status lines with one code, as GETCONF sends.
func ExampleAppendStatusReply() {
	fmt.Printf("%q\n", getinfo.AppendStatusReply(nil, 250, "SocksPort=0", "ControlPort=9051"))
	// Output: "250-SocksPort=0\r\n250 ControlPort=9051\r\n"
}

// crlfVisible shows each CR LF as a visible \r\n at the end of its line.
type crlfVisible struct{ w io.Writer }

func (c crlfVisible) Write(p []byte) (int, error) {
	_, err := io.WriteString(c.w, strings.ReplaceAll(string(p), "\r\n", `\r\n`+"\n"))
	return len(p), err
}
