package store

import (
	"bytes"
	"fmt"
)

// Walk visits the stored keys of one bucket and their records, in byte
// order, from the first key not before from (the first of all for an empty
// from), until fn returns false or the bucket ends. It is what an Engine
// gives Partitioning's scans to read its own tree; the slices are valid
// only during fn.
type Walk func(from []byte, fn func(stored, rec []byte) bool)

// Scan is View.Scan for an Engine laid out by p, reading bucket b through
// walk and noting corrupt records in c. Objects are visited in the order
// they are stored: by partition, then by key; from (nil: the start) is a
// position in that order, and a prefix selects the keys starting with it in
// every partition from there on. The other buckets go in key order. It
// returns an error only for an invalid bucket, or for a from the Partition
// function places out of range.
func (p Partitioning) Scan(b Bucket, walk Walk, c *Corruptions, from, prefix []byte, fn func(key, value []byte) bool) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if b != Objects {
		p.scanRange(b, walk, c, 0, from, prefix, fn)
		return nil
	}
	first := 0
	if len(from) > 0 {
		var err error
		if first, err = p.Of(from); err != nil {
			return err
		}
	}
	for q := first; q < p.Count(); q++ {
		start := from
		if q != first {
			start = nil
		}
		if !p.scanRange(b, walk, c, q, start, prefix, fn) {
			return nil
		}
	}
	return nil
}

// ScanPartition is View.ScanPartition for an Engine laid out by p: the
// objects of partition q, in key order, from the first key not before from
// (nil: the first), read through walk (over the Objects bucket).
func (p Partitioning) ScanPartition(walk Walk, c *Corruptions, q int, from []byte, fn func(key, value []byte) bool) error {
	if err := p.Check(q); err != nil {
		return err
	}
	p.scanRange(Objects, walk, c, q, from, nil, fn)
	return nil
}

// ForEach is Engine.ForEach over Scan: fn for every key of bucket b, in
// Scan's order, stopping at fn's first error, which it returns.
func (p Partitioning) ForEach(b Bucket, walk Walk, c *Corruptions, fn func(key, value []byte) error) error {
	var ferr error
	err := p.Scan(b, walk, c, nil, nil, func(k, v []byte) bool {
		ferr = fn(k, v)
		return ferr == nil
	})
	if err != nil {
		return err
	}
	return ferr
}

// scanRange calls fn for the verified keys of bucket b (of partition q, for
// Objects) not before max(from, prefix) and starting with prefix, in key
// order, until fn returns false, and reports whether fn never did. Corrupt
// records, and objects stored under another partition than their own, are
// noted and skipped.
func (p Partitioning) scanRange(b Bucket, walk Walk, c *Corruptions, q int, from, prefix []byte, fn func(key, value []byte) bool) bool {
	if bytes.Compare(prefix, from) > 0 {
		from = prefix
	}
	var head []byte
	if b == Objects {
		head = prefixOf(q)
	}
	more := true
	walk(append(bytes.Clone(head), from...), func(stored, rec []byte) bool {
		if !bytes.HasPrefix(stored, head) {
			return false
		}
		key := stored[len(head):]
		if len(prefix) > 0 && !bytes.HasPrefix(key, prefix) {
			return false
		}
		v, err := OpenRecord(b, key, rec)
		if err == nil && b == Objects {
			err = p.placed(q, key)
		}
		if err != nil {
			c.Note(err)
			return true
		}
		more = fn(key, v)
		return more
	})
	return more
}

// placed returns a *CorruptError unless key, found under partition q's
// prefix, belongs there: a damaged key that moved to another partition
// keeps its record's checksum (which covers the key without its prefix),
// so this is the check that catches it.
func (p Partitioning) placed(q int, key []byte) error {
	reason := ""
	if len(key) == 0 {
		reason = fmt.Sprintf("an empty key under the prefix of partition %d", q)
	} else if got, err := p.Of(key); err != nil {
		reason = err.Error()
	} else if got != q {
		reason = fmt.Sprintf("stored under partition %d, belongs to partition %d", q, got)
	}
	if reason == "" {
		return nil
	}
	return &CorruptError{Bucket: Objects, KeyHash: KeyHash(key), KeyLen: len(key), Reason: reason}
}
