package protocol_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"

	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
)

// serveController is a host's own control loop on the kit: tor's framing,
// limits and authentication from package protocol, GETINFO from a
// getinfo.Mux, and the host's commands where the comment is.
func serveController(nc net.Conn, auth *protocol.Auth, mux *getinfo.Mux) {
	defer nc.Close()
	lines := protocol.NewLineReader(nc)
	lines.OnRead = protocol.PreAuthCheck // tor's answers to HTTP and v0, before authenticating
	session := protocol.NewSession(auth)
	w := bufio.NewWriter(nc)
	defer w.Flush()
	var replies getinfo.ReplyWriter
	var out []byte
	for {
		line, err := lines.ReadLine()
		if err != nil {
			w.Write(protocol.Refusal(err)) // "500 Line too long." and the like, or nothing
			return
		}
		cmd, args := protocol.SplitCommand(line)
		out, outcome := session.Handle(out[:0], cmd, args)
		w.Write(out)
		switch outcome {
		case protocol.Close:
			return
		case protocol.Authenticated:
			lines.OnRead = nil
		case protocol.Unhandled:
			switch protocol.Upper(cmd) {
			case "GETINFO":
				replies.Write(w, mux, protocol.SplitWords(args))
			// case "SIGNAL", "SETEVENTS", ...: the host's own commands
			default:
				w.Write(protocol.AppendUnrecognized(nil, cmd))
			}
		}
		if !lines.Buffered() { // pipelined commands' replies go out together
			w.Flush()
		}
	}
}

// A host's own control loop, built on the kit, answering a controller.
func Example_hostLoop() {
	auth, _ := protocol.NewAuth(protocol.AuthConfig{HashedPasswords: []string{protocol.HashPassword("secret")}, Version: "0.4.9.11"})
	mux := getinfo.NewMux()
	mux.HandleFunc("version", "The relay's version.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	})

	relay, controller := net.Pipe()
	go serveController(relay, auth, mux)
	fmt.Fprint(controller, "GETINFO version\r\n")
	r := bufio.NewReader(controller)
	reply, _ := r.ReadString('\n')
	fmt.Println(strings.TrimSuffix(reply, "\r\n"))

	relay, controller = net.Pipe()
	go serveController(relay, auth, mux)
	go fmt.Fprint(controller, "AUTHENTICATE \"secret\"\r\nGETINFO version nope\r\nSIGNAL NEWNYM\r\nQUIT\r\n")
	r = bufio.NewReader(controller)
	for {
		reply, err := r.ReadString('\n')
		if err != nil {
			break
		}
		fmt.Println(strings.TrimSuffix(reply, "\r\n"))
	}
	// Output:
	// 514 Authentication required.
	// 250 OK
	// 552 Unrecognized key "nope"
	// 510 Unrecognized command "SIGNAL"
	// 250 closing connection
}
