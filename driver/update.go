package driver

import (
	"context"
	"fmt"
	"time"
)

// maxUpdateRounds bounds how often Update writes: once, plus one fold-in of
// the concurrent writes the first write revealed. Writers racing on one key
// fold symmetrically and re-create siblings, so more rounds mostly add load:
// with 8 writers on one key (3 loopback nodes, fsync on) one retry cost 1.35x
// the no-retry time per update and six rounds 5.7x. Siblings left over are
// folded by the next reader or Update.
const maxUpdateRounds = 2

// Update runs the read-merge-write loop: it reads key, calls fn with the
// current siblings (nil when the key does not exist) and writes fn's result
// with the read's context. If the write reveals concurrent writes that fn has
// not seen (the stored object holds other values too), fn runs again over
// them after a short random backoff and the result is written again, up to
// a bound; nothing is lost either way, because concurrent values stay as
// siblings until some write covers them. fn must therefore be a merge:
// deterministic, and safe to call several times (a set union is the model).
// Returning an error from fn aborts the update with that error.
func (c *Client) Update(ctx context.Context, key []byte, fn func(siblings [][]byte) ([]byte, error), opts ...Option) error {
	o := c.options(opts)
	obj, err := c.read(ctx, key, o)
	if err != nil {
		return err
	}
	for round := 0; ; round++ {
		value, err := fn(distinct(obj.Values()))
		if err != nil {
			return err
		}
		if err := c.cfg.Limits.CheckValue(value); err != nil {
			return fmt.Errorf("driver: %w", err)
		}
		next, err := c.write(ctx, "update", key, value, false, obj.VV, o)
		if err != nil {
			if round > 0 {
				// The first round's write reached W: fn's result is stored,
				// and this round only tried to fold concurrent siblings.
				return nil
			}
			return err
		}
		obj = next
		if len(distinct(obj.Values())) <= 1 || round+1 >= maxUpdateRounds {
			return nil
		}
		// Writers racing on one key back off by a random, growing amount so
		// that one of them folds everything in alone.
		backoff := c.clock.NewTimer(time.Duration(c.rand.Int64N(int64(time.Millisecond) << round)))
		select {
		case <-ctx.Done():
			backoff.Stop()
			return nil // stored; the siblings stay for the next reader to fold
		case <-backoff.C():
		}
	}
}

// distinct drops repeated values, keeping first occurrences in order. Two
// siblings with equal bytes (two writers that merged to the same result)
// mean the same thing to a reader.
func distinct(vals [][]byte) [][]byte {
	out := vals[:0:0]
	for _, v := range vals {
		dup := false
		for _, w := range out {
			if string(v) == string(w) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
