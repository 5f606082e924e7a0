package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedianAndRound(t *testing.T) {
	assert.Equal(t, 3*time.Millisecond, median([]time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond}))
	assert.Equal(t, "382ms", round(382456789*time.Nanosecond))
	assert.Equal(t, "6.89ms", round(6891234*time.Nanosecond))
	assert.Equal(t, "912µs", round(912345*time.Nanosecond))
}

// The raw client finds the end of a reply however the bytes are split.
func TestReadUntilAcrossReads(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	rc := &rawClient{c: client, buf: make([]byte, 3)}
	reply := "250+conn/all=\r\n1 0 0 0 0 IRt 0 0 5\r\n2 0 0 0 0 IRt 0 0 5\r\n.\r\n250 OK\r\n"
	go func() {
		for i := 0; i < len(reply); i += 5 {
			io.WriteString(server, reply[i:min(i+5, len(reply))])
		}
	}()
	var kept bytes.Buffer
	n, err := rc.readUntil([]byte("\r\n250 OK\r\n"), &kept)
	require.NoError(t, err)
	assert.Equal(t, len(reply), n)
	assert.Equal(t, reply, kept.String())
}

func TestControlAddr(t *testing.T) {
	addr, err := controlAddr(strings.NewReader("relaysim: control port 127.0.0.1:4242\nrelaysim: no authentication (null)\n"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:4242", addr)
	_, err = controlAddr(strings.NewReader("nothing\n"))
	assert.Error(t, err)
}

// median and round are how the table's figures are made.
func Example() {
	fmt.Println(round(median([]time.Duration{4930 * time.Microsecond, 18260 * time.Microsecond, 366 * time.Millisecond})))
	// Output: 18.26ms
}
