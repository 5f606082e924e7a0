package client

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
)

// batchBytes is how many bytes of lines a decoder hands to a worker at a
// time: enough that a batch costs far more to parse than to pass, few
// enough that the workers start while the reply is still arriving.
const batchBytes = 64 << 10

// decoder decodes conn/all's lines as the reader hands them over: it
// copies them into batches, which workers (one a CPU) parse while the
// reader reads on; appendTo joins the batches' entries in order. A reply
// of less than a batch is parsed on the reader's goroutine.
type decoder struct {
	batches []*batch
	cur     *batch
	lines   int
	jobs    chan *batch
	wg      sync.WaitGroup
}

// batch is a run of lines and, once parsed, their entries.
type batch struct {
	data    []byte // lines, each ended by '\n'
	first   int    // the number of its first line in the reply, from 1
	entries []connstate.Entry
	err     error
}

var batchPool = sync.Pool{New: func() any { return &batch{data: make([]byte, 0, batchBytes+512)} }}

func newDecoder() *decoder { return &decoder{} }

// line takes one line of the reply, valid only during the call.
func (d *decoder) line(b []byte) {
	d.lines++
	if d.cur == nil {
		d.cur = batchPool.Get().(*batch)
		d.cur.first = d.lines
	}
	d.cur.data = append(append(d.cur.data, b...), '\n')
	if len(d.cur.data) >= batchBytes {
		d.send()
	}
}

// send hands the current batch to the workers, starting them the first
// time.
func (d *decoder) send() {
	if d.jobs == nil {
		d.jobs = make(chan *batch, 64)
		for range max(1, runtime.GOMAXPROCS(0)) {
			d.wg.Go(func() {
				for b := range d.jobs {
					b.parse()
				}
			})
		}
	}
	d.batches = append(d.batches, d.cur)
	d.jobs <- d.cur
	d.cur = nil
}

// parse decodes the batch's lines into its entries.
func (b *batch) parse() {
	b.entries = b.entries[:0]
	data := b.data
	for n := b.first; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		var err error
		if b.entries, err = format.AppendParsed(b.entries, data[:i]); err != nil {
			b.err = fmt.Errorf("conn/all line %d: %w", n, err)
			return
		}
		data = data[i+1:]
	}
}

// wait ends the workers: after it, every batch sent is parsed. The last
// batch, short, is parsed here, as is a reply of one batch.
func (d *decoder) wait() {
	if d.cur != nil {
		d.cur.parse()
		d.batches = append(d.batches, d.cur)
		d.cur = nil
	}
	if d.jobs != nil {
		close(d.jobs)
		d.wg.Wait()
		d.jobs = nil
	}
}

// appendTo waits for the workers and appends the entries to dst, growing
// it once; an error is the first line's that did not parse.
func (d *decoder) appendTo(dst []connstate.Entry) ([]connstate.Entry, error) {
	d.wait()
	n := 0
	for _, b := range d.batches {
		if b.err != nil {
			return dst, b.err
		}
		n += len(b.entries)
	}
	dst = slices.Grow(dst, n)
	for _, b := range d.batches {
		dst = append(dst, b.entries...)
	}
	return dst, nil
}

// release waits for the workers and returns the batches to the pool.
func (d *decoder) release() {
	d.wait()
	for _, b := range d.batches {
		b.data, b.entries, b.err = b.data[:0], b.entries[:0], nil
		batchPool.Put(b)
	}
	d.batches = nil
}
