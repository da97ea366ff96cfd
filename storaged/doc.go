// Package storaged is the Shoal storage daemon: a thin node that persists
// objects durably (bbolt with group commit), assigns dots for the writes it
// coordinates, merges replicas' objects, and answers reads. The driver linked
// into services does everything else on the request path (paper §4 with
// client-driven coordination, §6.4).
//
// Hinted handoff (paper §4.6): a node standing in for an unreachable primary
// accepts replicas and coordinated writes marked with the primary's id
// (HintFor), keeps them durably in its hints bucket, one record per key and
// owner, merges them into its answers to reads, and delivers them to the
// owner once it is back (see hints.go, delivery.go and package hint). Hints
// per owner are capped in bytes, keys and age (Config.Hint*).
//
// A Server owns its store, its QUIC endpoint and every goroutine it starts;
// Run blocks until its context ends and then shuts down gracefully: it stops
// accepting, lets requests in flight finish, commits queued writes and closes
// the data directory.
package storaged
