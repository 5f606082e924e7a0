// Package getinfo answers tor control-port GETINFO keys for a relay.
//
// A [Handler] appends the value of one key to a byte slice. A [Mux] routes
// keys to handlers, as tor's GETINFO table does: exact keys and prefix keys,
// each with the description that info/names lists. [WriteReply] turns the
// answers to one GETINFO command into a reply that is byte-exact with tor
// 0.4.9.11, with the two departures below.
//
// # Key families
//
// The keys come in families, each answered by the part of a relay that
// knows them. Every family follows one rule:
//
//   - it is a struct type named for what it answers;
//   - its exported fields are its sources (an interface or a function the
//     host supplies) and its settings; a nil source leaves the keys it
//     answers unregistered, so that they stay unknown (552) and out of
//     info/names, and a zero setting means its default;
//   - its Register(*Mux) method, on a pointer, mounts its keys; the
//     family must not be changed or copied after that, and a family with
//     methods the host calls later ([Process.Reset]) is kept by that
//     pointer.
//
// The families:
//
//   - [Conns]: conn/all and conn/<circ>/<conn>, and the byte totals
//     (info/relay/read-total and write-total, also as relay/*, and tor's
//     traffic/read and traffic/written), all answered under one package
//     scrub tier: the public one by default, from one view per epoch.
//   - [Relay]: the bandwidth limits (info/relay/bw-limit and burst-limit,
//     also as relay/*).
//   - [Process]: uptimes (info/uptime-process, process/uptime, uptime;
//     info/uptime-reset, process/uptime-reset), descriptors
//     (info/descriptor-used, process/descriptors-used,
//     info/descriptor-limit, process/descriptor-limit) and tor's
//     process/pid, process/uid and process/user.
//   - [Authorities]: ns/authority, from an [AuthoritySource].
//   - [InfoNames]: info/names, listing every key the Mux holds when asked.
//
// A host mounts its own keys with [Mux.Handle] and [Mux.HandlePrefix].
//
// # Replies
//
// Keys are answered in request order, duplicates repeated, each as
// "250-key=value" or, when the value holds a CR or LF, as "250+key=" and a
// data block; the reply ends with "250 OK". If any key is unrecognized, only
// the 552 lines are sent. A handler that fails for another reason makes the
// whole reply a single 551 line, and later keys are not evaluated. A handler's
// own error text is never sent, since it may hold private data: see [Error],
// [Unavailable] and [UnrecognizedWithText] for what is.
//
// A connection that answers many GETINFOs keeps a [ReplyWriter], which
// keeps its buffers between replies; conn/all of 100,000 entries then
// allocates no more than conn/all of ten. [Conns] formats a large
// conn/all on several goroutines when its source is a
// [PartitionedSource], as a *connstate.Registry is.
//
// # Departures from tor
//
// A key holding a control byte (a byte below 0x20 other than TAB, or 0x7F) is
// echoed C-escaped wherever it is echoed, so that no reply line can be broken
// and every reply has its end line; tor sends a key with a bare CR in a 552
// data block that has no end line. Other keys are echoed exactly as sent,
// quotes, backslashes, TAB and 8-bit bytes included, as tor does. See
// [AppendEscapedKey].
//
// A value is never "(null)": tor writes "250-(null)" for a recognized key
// that would need quoting, such as dir/status/a=b; WriteReply writes the key
// and its value.
//
// # Concurrency
//
// A Mux is safe for concurrent use. Keys may be registered after serving has
// begun: a sync.RWMutex guards the table, and it is held only to find a
// handler, never while one runs, so a handler may register keys too. Handlers
// must be safe for concurrent use, since one may answer many controllers at
// once. A [Conns] under the public tier keeps a timer while controllers
// ask (time.AfterFunc, or the AfterFunc of its Clock when it has one); it
// stops after six epochs without a question and leaves no goroutine. WriteReply is safe for concurrent use as long as each call has its own
// io.Writer.
package getinfo
