// Package driver is the Shoal client library that services link: it holds the
// ring, builds each key's preference list, and performs quorum reads and
// writes against storage nodes over QUIC (Dynamo's client-driven
// coordination, paper §6.4).
//
// A write goes to the first reachable node of the key's preference list,
// which assigns the new version's dot and persists it (the coordinator); the
// driver then replicates the resulting object to the other replicas and
// reports success once W of them, the coordinator included, hold it durably.
// A read asks the replicas, waits for R answers, merges them and returns every
// concurrent value (siblings) with one opaque context to write back with.
//
// A Client is safe for concurrent use; reuse one per process.
package driver
