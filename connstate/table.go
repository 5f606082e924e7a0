package connstate

import (
	"cmp"
	"slices"
)

// slot is one entry of a table: an ID and the object, nil once removed.
type slot[T any] struct {
	id uint64
	p  *T
}

// table keeps objects in ascending ID order, so that snapshots need no sort.
// IDs are only ever appended in increasing order; a removal leaves a hole,
// and the holes are squeezed out once they outnumber the live objects, which
// keeps removal O(1) amortised and lookups a binary search.
//
// A table is not safe for concurrent use: the registry's lock guards it.
type table[T any] struct {
	slots []slot[T]
	live  int
}

// add appends p under id, which must exceed every ID added before.
func (t *table[T]) add(id uint64, p *T) {
	t.slots = append(t.slots, slot[T]{id: id, p: p})
	t.live++
}

func (t *table[T]) index(id uint64) (int, bool) {
	i := t.from(id)
	return i, i < len(t.slots) && t.slots[i].id == id && t.slots[i].p != nil
}

// find returns the live object with the given ID, or nil.
func (t *table[T]) find(id uint64) *T {
	if i, ok := t.index(id); ok {
		return t.slots[i].p
	}
	return nil
}

// remove drops the object with the given ID, if it is live.
func (t *table[T]) remove(id uint64) {
	i, ok := t.index(id)
	if !ok {
		return
	}
	t.slots[i].p = nil
	t.live--
	if len(t.slots) >= 64 && t.live < len(t.slots)/2 {
		t.compact()
	}
}

func (t *table[T]) compact() {
	kept := slices.DeleteFunc(t.slots, func(s slot[T]) bool { return s.p == nil })
	if cap(kept) > 4*len(kept) && cap(kept) > 1024 {
		// Give back the memory of a registry that shrank a lot.
		kept = slices.Clone(kept)
	}
	t.slots = kept
}

// appendLive appends the live objects to dst, in ID order.
func (t *table[T]) appendLive(dst []*T) []*T {
	for _, s := range t.slots {
		if s.p != nil {
			dst = append(dst, s.p)
		}
	}
	return dst
}

// from returns the index of the first slot whose ID is id or more.
func (t *table[T]) from(id uint64) int {
	i, _ := slices.BinarySearchFunc(t.slots, id, func(s slot[T], id uint64) int {
		return cmp.Compare(s.id, id)
	})
	return i
}
