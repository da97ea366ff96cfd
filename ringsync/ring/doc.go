// Package ring is Shoal's partitioned ring: Dynamo's partitioning strategy 3
// (DeCandia et al., SOSP 2007, §6.2). The hash space is split into Q equal,
// fixed partitions (Q a power of two); each partition is owned by one node. A
// key's partition is a stable function of its bytes, and its preference list
// is found by walking the partitions clockwise from there, collecting distinct
// owners: the first N are the key's replicas (§4.3), the rest, in walk order,
// are the fallbacks that take writes for unreachable replicas under a sloppy
// quorum (§4.6).
//
// A [Ring] is an immutable value: [New], [Ring.Join] and [Ring.Leave] return
// new rings with a higher version and never change their receiver, so a ring
// may be shared freely between goroutines. Every function here is pure: the
// same inputs give the same ring on every machine and in every process, which
// lets nodes that apply the same membership changes agree on ownership without
// exchanging it, and lets a whole cluster be replayed from its inputs.
//
// Rings cross the network (a driver fetches the current ring from a storage
// node); [Encode] and [Decode] give them a strict, canonical msgpack form.
package ring
