// Package stage turns staged membership changes into a plan and commits it:
// the administrator's explicit join, leave, replace and remove of Dynamo's
// §4.8, and the transfer of replicas that they imply (§4.9), decided by one
// claimant as riak_core does, with no randomness and no clock.
//
// The life of a change:
//
//  1. [Stage] checks one change against the state and what is already
//     staged (Riak's rules: no leaving the last member, no replacing a node
//     twice, no joining a member, no removing the claimant while others
//     remain) and appends it.
//  2. [Make] folds the staged changes over the current ring (ring.Join,
//     ring.Leave, ring.Replace; deterministic, so every node computes the
//     same plan) and reports what would move: per partition the old and new
//     replica sets (the first N distinct owners of its preference list, so
//     neighbouring partitions whose replica sets change are included, not
//     only those whose owner changes), per node what it sends and receives,
//     the byte estimate, the balance before and after, the partitions at
//     risk, and a hash that names the plan.
//  3. [Commit] is a compare-and-set: it applies the plan only if the ring is
//     still at the version planned on, the plan recomputes to the same hash,
//     it runs at the claimant, and every member that must confirm has seen
//     the current version and is live. A cluster split in two cannot commit
//     on both sides. The committed state has the next ring version with the
//     same ownership, the target ring and the transfers recorded as intent.
//  4. [Advance] is the claimant's periodic step: it flips ownership of the
//     partitions whose incoming replicas report done (never before: data
//     moves first), ends the plan when the target is reached, makes joining
//     members valid, leaving ones exiting once they own nothing, and exiting
//     ones removed once every member has seen that.
//
// Everything here is pure: states in, states and reports out.
package stage
