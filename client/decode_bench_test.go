package client_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/conninfo/conninfo/client"
)

func BenchmarkDecodeConnAll(b *testing.B) {
	reply := busyReply(b, 20000)
	start := bytes.Index(reply, []byte("\r\n")) + 2
	end := bytes.LastIndex(reply, []byte("\r\n.\r\n"))
	value := bytes.ReplaceAll(reply[start:end], []byte("\r\n"), []byte("\n"))
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, err := client.DecodeConnAll(value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientConnAll(b *testing.B) {
	addr := cannedServer(b, busyReply(b, 20000))
	c, err := client.Dial(context.Background(), addr, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ConnAll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
