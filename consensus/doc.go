// Package consensus reads a cached Tor v3 network-status consensus, the
// document a relay keeps in its data directory, far enough to answer
// ns/authority: the router-status entries of the directory authorities.
//
// It checks the document's structure (the version line, that it is a
// consensus and not a vote, the validity times, every r line, that each
// entry has its s line, and that the document runs to its footer) and keeps
// each entry's text exactly as the document has it. It does not check
// signatures: the relay verified the consensus before caching it.
//
// Both flavours are read: the full consensus ("network-status-version 3")
// and the microdescriptor one ("network-status-version 3 microdesc").
//
// # Concurrency
//
// [Parse] is safe for concurrent use; a [Consensus] is immutable once
// parsed. A [FileSource] is safe for concurrent use.
package consensus
