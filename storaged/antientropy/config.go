package antientropy

import (
	"errors"

	"github.com/shoalkv/shoal/wire"
)

// Config bounds one exchange. The zero value means the defaults.
type Config struct {
	// MaxBranches is the most branches whose leaves one ExchangeLeaves asks
	// for (default 128, as Riak's MAX_RESULTS; at most wire.MaxExchangeIDs).
	// A round trip then carries at most 128 × 64 leaf hashes, 32 KiB.
	MaxBranches int
	// MaxLeaves is the most leaves one ExchangeKeys names (default 128; at
	// most wire.MaxExchangeIDs): about 4 keys a leaf at the trees' design
	// load, so a page of about 512 key hashes.
	MaxLeaves int
	// MaxKeys is the most key hashes asked per page (default 1024; at most
	// wire.MaxExchangeKeys); more come in later pages.
	MaxKeys int
	// MaxClocks is the most keys whose version vectors one ExchangeClocks
	// asks (default 1024; at most wire.MaxExchangeClocks); more go in later
	// requests.
	MaxClocks int
	// MaxKey is the longest key accepted from the peer (default
	// wire.DefaultMaxKey; at most 32 KiB, the largest any node accepts).
	MaxKey int
}

// Defaults.
const (
	DefaultMaxBranches = 128
	DefaultMaxLeaves   = 128
	DefaultMaxKeys     = 1024
	DefaultMaxClocks   = 1024
	maxKeyCeiling      = 32 << 10
)

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.MaxBranches == 0 {
		c.MaxBranches = DefaultMaxBranches
	}
	if c.MaxLeaves == 0 {
		c.MaxLeaves = DefaultMaxLeaves
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxClocks == 0 {
		c.MaxClocks = DefaultMaxClocks
	}
	if c.MaxKey == 0 {
		c.MaxKey = wire.DefaultMaxKey
	}
	return c
}

// Validate reports every field out of range, joined; each error wraps
// ErrInvalid.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	check := func(name string, v, limit int) {
		if v < 1 || v > limit {
			errs = append(errs, invalidf("%s %d outside 1..%d", name, v, limit))
		}
	}
	check("max branches", c.MaxBranches, wire.MaxExchangeIDs)
	check("max leaves", c.MaxLeaves, wire.MaxExchangeIDs)
	check("max keys", c.MaxKeys, wire.MaxExchangeKeys)
	check("max clocks", c.MaxClocks, wire.MaxExchangeClocks)
	check("max key", c.MaxKey, maxKeyCeiling)
	return errors.Join(errs...)
}
