// Package member is the cluster state document that every storage node keeps,
// persists and gossips: who the members are, what each is doing, the
// versioned ring, the transfers in progress and the membership changes staged
// but not yet committed. It is Dynamo's explicit, persisted, gossiped
// membership (DeCandia et al., SOSP 2007, §4.8) with the ownership transfers
// of §4.9 recorded as intent, in the shape of riak_core's ring and claimant.
//
// A [State] is an immutable value made of independent registers, each with
// one writer and its own order, so that [Merge] is a join-semilattice
// (commutative, associative, idempotent) and gossip converges whatever order
// states arrive in:
//
//   - the [Claim] (ring, statuses, planned ring, transfers), written only by
//     the claimant and ordered by ring version;
//   - the [Staged] changes, written only by the claimant and ordered by their
//     revision;
//   - one [Record] per node (address, store epoch, incarnation, the highest
//     ring version it has applied, the transfers it has received), written
//     only by that node and ordered by (epoch, incarnation, seq).
//
// No register is ever ordered by a clock: two values at the same position
// with different contents are a conflict that [Merge] reports as
// [ErrConflict] rather than resolve (riak_core#855 is what picking a side by
// timestamp costs: flip-flopping and gossip storms).
//
// Every function here is pure: no I/O, clocks or goroutines. Staging,
// planning and committing changes live in package stage; gossip and
// persistence in the shell.
package member
