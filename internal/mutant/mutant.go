// Package mutant holds deliberate bugs behind switches that only tests
// turn on, so that a checker can show it catches the kind of bug it looks
// for (mutation testing): the simulator must find a replica that
// overwrites instead of merging. Every switch is off unless a test sets
// it; production code pays one atomic load where a switch is read.
package mutant

import "sync/atomic"

// Switch names one deliberate bug.
type Switch int

const (
	// ReplicateOverwrites makes a storage node store an incoming replica
	// (replicate, hinted replicate, handoff) in place of what it holds,
	// instead of merging the two: concurrent siblings are lost.
	ReplicateOverwrites Switch = iota
	// TombstoneCoversAll makes a coordinator's tombstone supersede every
	// version it holds, not only those the delete's context covers:
	// values written concurrently with the delete are lost.
	TombstoneCoversAll
	// KeyEpochReused makes a node keep a key's actor whatever a context or
	// a peer's copy says of it (no fresh key epoch on amnesia): after a
	// restored data file its next write reissues a dot, which peers take
	// as already seen (kv679_dataloss).
	KeyEpochReused
	// NodeActorForEveryKey makes a node coordinate every key under its
	// store-wide actor, as before per-key actor epochs: a key written again
	// after it was lost here restarts its counter at 1, under dots an old
	// tombstone elsewhere already covers (kv679_tombstone).
	NodeActorForEveryKey
	count
)

var on [count]atomic.Bool

// Set turns s on or off, for every server in the process.
func Set(s Switch, v bool) { on[s].Store(v) }

// On reports whether s is on.
func On(s Switch) bool { return on[s].Load() }
