// Package coord is the driver's coordination, as pure state machines: the
// sloppy-quorum plan of one request (paper §4.6), the Write and Read
// machines that run a put and a get over it (§4.5), the quorum tally, and
// the choice of replicas to read-repair.
//
// Nothing here sends, waits, reads a clock or locks. In the manner of
// etcd-io/raft's RawNode, a machine takes inputs (the answer to a send, by
// its SendID; a Tick when the speculative delay passed; Abandon when the
// caller's context ended; Expire when the write's deadline passed) and its
// Ready method says what to do next: the sends to make, the result once it
// is decided and, for reads, the replicas to repair. The driver's shell
// (driver/put.go, driver/get.go) makes the sends on goroutines, owns the
// timers and contexts, and feeds back what happened; a test or simulator
// can feed any interleaving it likes, exactly and instantly.
//
// What a failed answer means (final for the caller, may have applied, not
// applied) is wire.ClassOf's decision, the same one hint delivery uses.
//
// A machine and its Plan are used by one goroutine at a time.
package coord
