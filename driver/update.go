package driver

import (
	"context"
	"errors"
	"fmt"
)

// maxUpdateRounds bounds how often Update folds in concurrent writes.
const maxUpdateRounds = 8

// Update runs the read-merge-write loop: it reads key, calls fn with the
// current siblings (nil when the key does not exist) and writes fn's result
// with the read's context. If the write reveals concurrent writes that fn has
// not seen (the stored object still has siblings), fn runs again over them
// and the result is written again, up to a bound; nothing is lost either way,
// because concurrent values stay as siblings. fn must therefore be a merge:
// deterministic, and safe to call several times (a set union is the model).
// Returning an error from fn aborts the update with that error.
func (c *Client) Update(ctx context.Context, key []byte, fn func(siblings [][]byte) ([]byte, error), opts ...Option) error {
	o := c.options(opts)
	obj, err := c.read(ctx, key, o)
	if err != nil {
		return err
	}
	for round := 0; ; round++ {
		value, err := fn(obj.Values())
		if err != nil {
			return err
		}
		if err := c.cfg.Limits.CheckValue(value); err != nil {
			return fmt.Errorf("driver: %w", err)
		}
		obj, err = c.write(ctx, "update", key, value, false, encodeContext(obj.VV), o)
		if err != nil {
			return err
		}
		if len(obj.Siblings) <= 1 || round+1 >= maxUpdateRounds {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), fmt.Errorf("driver: update stored with %d siblings", len(obj.Siblings)))
		}
	}
}
