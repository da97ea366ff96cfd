// Package hint is the pure core of hinted handoff (Dynamo paper §4.6): how a
// fallback node lays out the hints it holds for other nodes, how it encodes
// them, when it refuses another one, and how fast and how often it tries to
// deliver them. It does no I/O and reads no clock: times and randomness are
// arguments, so a storage node's behaviour can be replayed.
//
// # Layout
//
// A fallback keeps one hint record per (key, intended owner) in the store's
// hints bucket, under
//
//	2-byte big-endian len(key) | key | owner node id
//
// so that every hint for one key shares the prefix [Prefix] (a read seeks it
// and merges the records into its answer), and the owner can be recovered
// from any stored key ([ParseKey]) when a full scan groups records by owner
// for delivery. The length prefix makes the prefix of one key never match
// another key's records.
//
// The value is a [Record]: the object the owner is missing, the time the
// record was first created (for the hint window), and the epoch of the
// record's own actor (see [Record]).
package hint
