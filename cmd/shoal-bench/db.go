package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/shoalkv/shoal/bench/cli"
	"github.com/shoalkv/shoal/bench/workload"
	"github.com/shoalkv/shoal/driver"
)

// db runs YCSB operations through the Shoal driver, the way a service
// should use it.
type db struct {
	c *driver.Client
	// reads counts the Gets of READ operations that found values, and how
	// many met siblings (concurrent writes not yet folded); updateGets the
	// same for the Get inside each UPDATE. READ-MODIFY-WRITE reads inside
	// the driver's Update and is not counted. mostSiblings is the most any
	// Get found.
	reads, updateGets siblingCount
	mostSiblings      atomic.Int64
	// status, if not nil, is a further line for Report: the embedded
	// cluster's anti-entropy figures.
	status func() string
}

// siblingCount counts Gets that found values and those that found siblings.
type siblingCount struct{ found, siblings atomic.Int64 }

// get is a Get that counts what it found in sc.
func (d *db) get(ctx context.Context, key []byte, sc *siblingCount) (driver.Versions, error) {
	v, err := d.c.Get(ctx, key)
	if err == nil {
		d.count(sc, int64(len(v.Values)))
	}
	return v, err
}

// count records a Get that found n values.
func (d *db) count(sc *siblingCount, n int64) {
	sc.found.Add(1)
	if n > 1 {
		sc.siblings.Add(1)
		for m := d.mostSiblings.Load(); n > m && !d.mostSiblings.CompareAndSwap(m, n); m = d.mostSiblings.Load() {
		}
	}
}

// Report says how often reads, and the Gets inside updates, met siblings:
// each one costs the reader a merge and makes the next write fold them
// (cli.Reporter); then, on a line of its own, status's line if set.
func (d *db) Report() string {
	var parts []string
	for _, c := range []struct {
		what string
		sc   *siblingCount
	}{{"reads", &d.reads}, {"gets inside updates", &d.updateGets}} {
		if f := c.sc.found.Load(); f > 0 {
			s := c.sc.siblings.Load()
			parts = append(parts, fmt.Sprintf("%d of %d %s (%.2f%%)", s, f, c.what, 100*float64(s)/float64(f)))
		}
	}
	line := "no reads or updates found a value"
	if len(parts) > 0 {
		line = fmt.Sprintf("%s found concurrent siblings, at most %d", strings.Join(parts, " and "), d.mostSiblings.Load())
	}
	if d.status != nil {
		line += "\n" + d.status()
	}
	return line
}

// Read is a quorum Get (R replicas).
func (d *db) Read(ctx context.Context, key []byte) error {
	_, err := d.get(ctx, key, &d.reads)
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
	cur, err := d.get(ctx, key, &d.updateGets)
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
