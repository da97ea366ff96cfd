// Package handoff is the pure core of partition handoff (Dynamo, SOSP 2007,
// §4.9): moving one partition's objects from its old owner to a node that
// gains a replica of it, before ownership flips. It does no I/O, starts no
// goroutine and reads no clock: times are arguments, and the shells (in
// storaged) move the bytes, scan and write the stores, and own the timers.
//
// # Protocol
//
// The receiver (the new replica) pulls, so that resuming is its decision and
// survives either side restarting:
//
//	Open{partition, ring version, from, to, session, after, window, limits} -> sender
//	Batch{partition, session, seq, objects, last, done}                     <- sender
//	Ack{partition, session, seq, cursor}                                    -> sender
//	Refused{partition, session, reason, ring version}                       <- sender, instead of batches
//
// One session is one stream. The sender reads the partition's range after
// Open.After in short read transactions of at most Open.MaxObjects objects
// or Open.MaxBytes bytes ([Batcher]), and may run Open.Window batches ahead
// of the acks ([Sender]). The receiver ([Transfer]) hands each batch, in
// order, to its shell as a [Merge]: merge these objects (a DVV merge, never
// an overwrite) and write the cursor Batch.Last in the same transaction.
// Only once that transaction is durable does it ack the batch, which lets
// the sender send one more. A crash of either side therefore loses at most
// the batches that were not durable yet, at most one window; the next
// session resumes after the durable cursor and re-sends only those, and
// re-sent objects merge idempotently.
//
// A batch that does not come within Config.BatchDeadline of the previous one
// (while the receiver is waiting for one), a broken stream, a merge that did
// not commit or a retryable refusal closes the session; the transfer waits hint.Backoff of its
// consecutive failures and reopens from the durable cursor. After
// Config.MaxFailures consecutive failures without progress it gives up, and
// its [Manager] frees its slot and schedules it again later, so no slot is
// held by a transfer that makes no progress (riak_core#185).
//
// After the batch marked done is durable, the transfer asks its shell for
// one anti-entropy exchange of the partition with the sender (to catch the
// writes that raced the scan), and then ends: the shell reports the
// transfer done (through gossip), the ring flips in a later version, and the
// old owner drops its copy only once every member has seen the flip
// ([MayDrop]) and a grace has passed. Those steps are its shells'.
//
// What the shells must enforce: only node certificates of current members
// may open a transfer; the sender refuses an Open from another ring version
// ([Refuse]) and one for a partition it does not hold; the receiver's shell
// checks that each object's key belongs to the partition and validates each
// object as every write path does before merging it.
//
// A Transfer, Sender or Manager is used by one goroutine at a time.
package handoff
