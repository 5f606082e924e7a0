package scrub

// Pseudonyms maps a registry's connection and circuit IDs to the IDs the
// public tier shows. A registry issues IDs in order, so that its IDs
// would date every connection against connections an attacker opens at
// known instants, and their gaps would count the connections and
// circuits that came and went unseen; a keyed permutation of the IDs
// shows neither, while a connection keeps one ID for as long as the key
// lives, as controllers need to follow it from answer to answer.
//
// The permutation is a four-round Feistel network over the two 32-bit
// halves of an ID, its round function the SplitMix64 finalizer of the
// half mixed with a round key, walked again on 0 so that 0, which means
// "no circuit", is never an image: a bijection of the IDs from 1 to
// 2^64-1 onto themselves.
//
// A Pseudonyms is immutable and safe for concurrent use.
type Pseudonyms struct {
	keys [4]uint64
}

// NewPseudonyms returns the permutation keyed by k0 and k1: draw them at
// random, once for as long as the IDs must stay the same.
func NewPseudonyms(k0, k1 uint64) *Pseudonyms {
	p := &Pseudonyms{}
	for i := range p.keys {
		p.keys[i] = mix64(k0 ^ uint64(i)*0x9E3779B97F4A7C15 ^ mix64(k1+uint64(i)))
	}
	return p
}

// ID returns the pseudonym of id; 0 stays 0.
func (p *Pseudonyms) ID(id uint64) uint64 {
	if id == 0 || p == nil {
		return id
	}
	for {
		id = p.permute(id)
		if id != 0 {
			return id
		}
	}
}

func (p *Pseudonyms) permute(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for _, k := range p.keys {
		l, r = r, l^uint32(mix64(uint64(r)^k))
	}
	return uint64(l)<<32 | uint64(r)
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
