package store

import "context"

// Engine is what a storage node needs of its durable local store. *Store
// (bbolt, group commit, fsync) is the real one; storaged/store/memstore is
// an in-memory one that can simulate a crash, for the simulator. Both pass
// the conformance suite in storaged/store/storetest, which pins down the
// contract each method's documentation on *Store gives: Apply's atomic
// read-modify-write and durable nil, ErrCommit and ErrBroken on failed
// commits, CompareAndDelete's byte-for-byte condition, View's consistent
// snapshot, the epoch, and ApplyThen's then functions running one at a
// time on the commit loop, after the batch's fate is known and before its
// writers are answered, and records that fail their checksum treated as
// absent by every read (ErrCorrupt, RefuseCorrupt). Implementations are
// safe for concurrent use.
type Engine interface {
	Apply(ctx context.Context, b Bucket, key []byte, fn func(old []byte) ([]byte, error), opts ...ApplyOption) error
	Delete(ctx context.Context, b Bucket, key []byte) error
	CompareAndDelete(ctx context.Context, b Bucket, key, old []byte) (bool, error)
	ApplyThen(ctx context.Context, b Bucket, key []byte, fn func(old []byte) ([]byte, func(committed bool), error), opts ...ApplyOption) error
	CompareAndDeleteThen(ctx context.Context, b Bucket, key, old []byte, then func(committed bool)) (bool, error)
	Get(b Bucket, key []byte) ([]byte, error)
	View(fn func(v View) error) error
	ForEach(b Bucket, fn func(key, value []byte) error) error
	ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error
	Count(b Bucket) (int, error)
	Epoch() uint64
	Fresh() bool
	Stats() Stats
	Close() error
}

// View is a read-only, consistent snapshot of every bucket of a store. It
// is valid only during the function Engine.View passes it to, and so are
// the keys and values its methods return: they may point into the database
// file and must not be modified or retained.
//
// A View must be short, and the goroutine holding it must not wait for a
// write: bbolt's commit that has to grow the file waits for every open
// snapshot, so a View held across another goroutine's Apply can stall it
// (the same holds for ForEach).
type View interface {
	// Get returns the value of key in bucket b, or an error matching
	// ErrNotFound, ErrInvalidBucket or ErrInvalidKey; a record that fails
	// its checksum is a *CorruptError, matching ErrNotFound and ErrCorrupt.
	Get(b Bucket, key []byte) ([]byte, error)
	// Scan calls fn for the keys of bucket b in byte order, starting at the
	// first key not before from (nil: the first key of the bucket), until
	// fn returns false or the bucket ends. With a non-empty prefix only keys
	// starting with it are visited: the scan starts at max(from, prefix) and
	// ends at the first key past the prefix. An empty value is passed as a
	// non-nil empty slice. Records that fail their checksum are skipped.
	//
	// Objects, when the store has more than one partition, go in the order
	// they are stored in: by partition (Options.Partition), then in byte
	// order; from is a position in that order, and the prefix applies in
	// each partition from from's on. Use ScanPartition for one partition.
	Scan(b Bucket, from, prefix []byte, fn func(key, value []byte) bool) error
	// ScanPartition calls fn for the objects of partition p (0 to the
	// store's Partitions - 1, else an error matching ErrInvalidPartition)
	// in byte order of their keys, starting at the first key not before
	// from (nil: the partition's first), until fn returns false or the
	// partition ends: one range scan of the file. Keys are the callers'
	// (without the partition prefix). Records that fail their checksum, and
	// objects found under another partition than their own, are skipped
	// (and counted as corrupt).
	ScanPartition(p int, from []byte, fn func(key, value []byte) bool) error
}

var _ Engine = (*Store)(nil)
