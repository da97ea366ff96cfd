package main

import (
	"bytes"
	"context"
	"errors"

	"github.com/shoalkv/shoal/bench/workload"
	"github.com/shoalkv/shoal/driver"
)

// db runs YCSB operations through the Shoal driver, the way a service
// should use it.
type db struct{ c *driver.Client }

// Read is a quorum Get (R replicas).
func (d *db) Read(ctx context.Context, key []byte) error {
	_, err := d.c.Get(ctx, key)
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
	cur, err := d.c.Get(ctx, key)
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
