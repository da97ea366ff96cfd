// Package store is a storage daemon's durable local byte store: three
// buckets (objects, hints, meta) in one bbolt file, with group commit.
//
// # Group commit
//
// Every write (Apply, Delete, CompareAndDelete) goes through one commit
// goroutine owned by the Store. The goroutine blocks for the first queued
// write, then takes whatever else is already queued (without waiting, up to
// Options.MaxBatch), applies them in queue order inside one bbolt read-write
// transaction, commits it (one fsync for the whole batch) and only then
// answers every writer. Writes that arrive during a commit form the next
// batch. A lone writer therefore never waits on a timer or for company, while
// many concurrent writers share the cost of an fsync. bbolt's own DB.Batch is
// deliberately not used: it delays every batch by a timer.
//
// Under concurrent load the loop waits a little for company: when the
// previous batch carried at least 4 writes and only a few are queued now (the
// first of a burst that is still arriving), it collects writes until it holds
// as many as last time, for at most Options.GroupWait, before committing. The
// burst then shares one fsync rather than paying for a nearly empty commit
// and queueing behind it. Writers that come one at a time never wait (their
// previous batch carried one).
//
// # Durability and failure
//
// A nil error from a write means it is on stable storage (unless
// Options.NoSync). If the commit of a batch fails (a full disk, an I/O
// error), every writer of that batch gets an error matching ErrCommit and
// none of the batch's writes are visible; the store keeps serving later
// writes. If bbolt reports a failure after the batch had already become
// visible (the final fsync failed, so nobody can tell what reached the disk),
// the store refuses every later call with ErrBroken: the owner must close and
// reopen it, which reads back what actually survived.
//
// # Epoch
//
// Each data directory carries a random nonzero epoch, created the first time
// the directory is opened and whenever the database has lost it (a wiped,
// replaced or partial data directory). Together with the node id it names the
// node's actor in dotted version vectors, so a node that lost its state never
// reuses old event counters (see DESIGN.md, section 3).
//
// The directory is guarded by an exclusive flock on dir/LOCK, so two
// processes (or two Opens in one process) never share a database.
//
// # What the disk returns is checked
//
// Every value of every bucket is kept as a record (record.go): a format
// byte and a CRC-32C over the bucket, the key and the value, verified on
// every read. A record that fails is never returned as data: Get and
// View.Get return a *CorruptError (matching ErrCorrupt and ErrNotFound, so
// storaged treats the key as locally missing and quorum reads and repair
// fetch it from peers), scans skip it, and Apply's function sees it as
// absent, so a merge writes a good record over it (unless RefuseCorrupt).
// Each is counted (Stats.CorruptReads, Stats.CorruptRecords) and logged
// once, by bucket and key hash, never by value.
//
// Open checks the whole file before serving it: its page structure, read
// without mapping it (preflight.go), then bbolt's tx.Check, with faults and
// panics turned into errors. A damaged file is moved aside (kept) and the
// store starts empty under a new epoch (Quarantined). A file of format 1
// (bare values) or 2 (records, objects by key) is migrated to format 3
// once, crash-safely (migrate.go).
//
// # Partitions are ranges
//
// Objects are stored under a 2-byte big-endian prefix naming their
// partition (Options.Partition, the ring's PartitionOf), so a partition is
// one range scan (ScanPartition) for Merkle rebuilds, exchanges, handoff
// and tombstone collection. Callers never see the prefix. The partition
// count is recorded in meta, and Open refuses another one (ErrPartitions).
package store
