// Package memstore is an in-memory store.Engine that can crash, for the
// whole-cluster simulator: it keeps the contract of *store.Store (group
// commit, a nil error only once a write is durable, the same validation,
// errors and copying rules, checked by the conformance suite in
// storaged/store/storetest) and models what a process crash does to it.
//
// # Durability
//
// A Disk is what survives a crash: a synced state and the batches committed
// after it but not yet synced, in commit order. A Store on the Disk (Open)
// commits batches as *store.Store does, through one goroutine: it takes what
// is queued, applies each write in queue order, makes the batch visible,
// syncs it (sleeping Options.SyncLatency, virtual time inside a
// testing/synctest bubble) and only then answers its writers. Under
// Options.NoSync it answers them before the sync, which a background
// writeback does later, so a crash may lose acknowledged writes (Dynamo
// paper, section 6.1).
//
// Disk.Crash kills the Store like a process: every call blocked on it, and
// every later one, fails with an error matching store.ErrClosed, and its
// goroutines end. The Disk keeps the synced state and a prefix of the
// unsynced batches whose length a seeded *rand.Rand draws, so a simulation
// can replay a crash from its seed. Close, in contrast, syncs everything.
//
// Disk.FailCommits injects commit failures: clean ones, after which the
// Store keeps serving, and ambiguous ones, after which it is broken
// (store.ErrBroken) until reopened, as *store.Store is after a failed
// fsync.
//
// # Snapshots
//
// Buckets are immutable ordered trees changed by path copying, so a View's
// snapshot costs O(1), Count is O(1), and a crash can fall back to any
// earlier committed state without keeping a log. Nothing depends on map
// order: scans go in key order.
package memstore
