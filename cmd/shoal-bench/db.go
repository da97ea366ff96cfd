package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/shoalkv/shoal/bench/cli"
	"github.com/shoalkv/shoal/bench/workload"
	"github.com/shoalkv/shoal/driver"
)

// db runs YCSB operations through the Shoal driver, the way a service
// should use it.
type db struct {
	c *driver.Client
	// reads counts Gets that found values; siblings those that found more
	// than one (concurrent writes not yet folded), mostSiblings the most.
	reads, siblings, mostSiblings atomic.Int64
}

// get is a Get that counts what it found.
func (d *db) get(ctx context.Context, key []byte) (driver.Versions, error) {
	v, err := d.c.Get(ctx, key)
	if n := int64(len(v.Values)); err == nil {
		d.reads.Add(1)
		if n > 1 {
			d.siblings.Add(1)
			for m := d.mostSiblings.Load(); n > m && !d.mostSiblings.CompareAndSwap(m, n); m = d.mostSiblings.Load() {
			}
		}
	}
	return v, err
}

// Report says how often reads met siblings: each one costs the reader a
// merge and makes the next write fold them (cli.Reporter).
func (d *db) Report() string {
	r, s := d.reads.Load(), d.siblings.Load()
	if r == 0 {
		return "no reads found a value"
	}
	return fmt.Sprintf("%d of %d reads (%.2f%%) found concurrent siblings, at most %d", s, r, 100*float64(s)/float64(r), d.mostSiblings.Load())
}

// Read is a quorum Get (R replicas).
func (d *db) Read(ctx context.Context, key []byte) error {
	_, err := d.get(ctx, key)
	if errors.Is(err, driver.ErrNotFound) {
		return workload.ErrNotFound
	}
	return err
}

// Update reads the key's context and writes under it, so the new value
// supersedes what was there. A blind Put (no context) would instead add a
// sibling to every existing version (DVV semantics, paper §4.4), so an
// update costs a quorum read and a quorum write.
func (d *db) Update(ctx context.Context, key, value []byte) error {
	cur, err := d.get(ctx, key)
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	_, err = d.c.Put(ctx, key, value, cur.Context)
	return err
}

// Insert writes a new key: a Put with no context.
func (d *db) Insert(ctx context.Context, key, value []byte) error {
	_, err := d.c.Put(ctx, key, value, nil)
	return err
}

// ReadModifyWrite goes through the driver's Update (read, merge, write under
// the read's context, fold concurrent writes once more if any appear).
// Concurrent siblings are reduced to the greatest one before modifying: a
// choice that does not depend on their order, as Update's merge must not.
func (d *db) ReadModifyWrite(ctx context.Context, key []byte, modify func(old []byte) []byte) error {
	return d.c.Update(ctx, key, func(siblings [][]byte) ([]byte, error) {
		var base []byte
		for _, s := range siblings {
			if bytes.Compare(s, base) > 0 {
				base = s
			}
		}
		return modify(base), nil
	})
}

var _ cli.Reporter = (*db)(nil)
