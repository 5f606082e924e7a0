package scrub

// Pseudonyms maps a registry's connection and circuit IDs to the IDs the
// public tier shows. A registry issues IDs in order, so that its IDs
// would date every connection against connections an attacker opens at
// known instants, and their gaps would count the connections and
// circuits that came and went unseen; a keyed permutation of the IDs
// shows neither, while a connection keeps one ID for as long as the key
// lives, as controllers need to follow it from answer to answer.
//
// Each permutation is a four-round Feistel network over the two 26-bit
// halves of an ID below 2^52, its round function the SplitMix64 finalizer
// of the half mixed with a round key, walked again on 0 so that 0, which
// means "no circuit", is never an image: a bijection of the IDs from 1 to
// 2^52-1 onto themselves. Pseudonyms so have at most 16 digits, as stem
// requires of a connection's or circuit's ID (it drops an event whose ID
// is longer). The IDs from 2^52 on, which only a replayed registry
// reaches, are permuted among themselves by the same network over 32-bit
// halves, walked until the image is 2^52 or more. A circuit's round keys
// are the finalizer of the connection's, each mixed with
// 0xC1C5C1C5C1C5C1C5.
//
// A Pseudonyms is immutable and safe for concurrent use.
type Pseudonyms struct {
	conns, circs [4]uint64 // the round keys of each permutation
}

// NewPseudonyms returns the permutations keyed by k0 and k1: draw them at
// random, once for as long as the IDs must stay the same. Connections and
// circuits are numbered apart, so each has a permutation of its own: with
// one, a circuit and a connection of the same number would share a
// pseudonym, and an attacker's connections would count the circuits.
func NewPseudonyms(k0, k1 uint64) *Pseudonyms {
	p := &Pseudonyms{}
	for i := range p.conns {
		p.conns[i] = mix64(k0 ^ uint64(i)*0x9E3779B97F4A7C15 ^ mix64(k1+uint64(i)))
		p.circs[i] = mix64(p.conns[i] ^ 0xC1C5C1C5C1C5C1C5)
	}
	return p
}

// Conn returns the pseudonym of connection id; 0 stays 0.
func (p *Pseudonyms) Conn(id uint64) uint64 { return p.walk(&p.conns, id) }

// Circ returns the pseudonym of circuit id; 0, no circuit, stays 0.
func (p *Pseudonyms) Circ(id uint64) uint64 { return p.walk(&p.circs, id) }

// MaxShortPseudonym is the largest pseudonym of an ID below 2^52: every
// ID a registry issues by counting from 1 shows as at most 16 digits.
const MaxShortPseudonym = 1<<52 - 1

// walk permutes id with keys: within [1, 2^52) for the IDs there, within
// [2^52, 2^64) for the others, again while the image falls outside.
func (p *Pseudonyms) walk(keys *[4]uint64, id uint64) uint64 {
	if id == 0 || p == nil {
		return id
	}
	if id <= MaxShortPseudonym {
		for {
			if id = feistel(keys, id, 26); id != 0 {
				return id
			}
		}
	}
	for {
		if id = feistel(keys, id, 32); id > MaxShortPseudonym {
			return id
		}
	}
}

// feistel permutes the low 2×half bits of id: four rounds over its two
// halves.
func feistel(keys *[4]uint64, id uint64, half uint) uint64 {
	mask := uint64(1)<<half - 1
	l, r := id>>half&mask, id&mask
	for _, k := range keys {
		l, r = r, (l^mix64(r^k))&mask
	}
	return l<<half | r
}

// mix64 is the SplitMix64 finalizer.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 27
	h *= 0x94D049BB133111EB
	h ^= h >> 31
	return h
}
