package main

import (
	"encoding/binary"
	"io"
)

// The simulation's cells: tor's fixed-size cell of 514 bytes, a 4-byte
// circuit ID and a payload whose first byte says what the cell does. The
// bytes are real and counted; the cryptography is not simulated.
const (
	cellLen    = 514
	payloadLen = cellLen - 4
)

const (
	cmdHello   byte = iota + 1 // link handshake; kind byte, then a fingerprint for relays
	cmdCreate                  // open a circuit
	cmdCreated                 // the circuit is open
	cmdData                    // relay data
	cmdDestroy                 // close a circuit
)

// Kinds of peer in a hello cell.
const (
	helloClient byte = iota
	helloRelay
)

type cell [cellLen]byte

func (c *cell) circID() uint32 { return binary.BigEndian.Uint32(c[:4]) }
func (c *cell) command() byte  { return c[4] }

// set makes c a cell of the given circuit and command; the payload after
// the command byte is left as it is.
func (c *cell) set(circID uint32, command byte) *cell {
	binary.BigEndian.PutUint32(c[:4], circID)
	c[4] = command
	return c
}

// putID changes the circuit ID, for a cell passed on to the next hop.
func (c *cell) putID(circID uint32) { binary.BigEndian.PutUint32(c[:4], circID) }

func readCell(r io.Reader, c *cell) error {
	_, err := io.ReadFull(r, c[:])
	return err
}
