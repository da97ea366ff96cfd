// Package swim is the failure-detection core that storage nodes run among
// themselves: SWIM (Das, Gupta and Motivala, DSN 2002) with the three
// Lifeguard refinements (Dadgar, Phillips and Currey, 2018): local health
// awareness, dynamic suspicion timeouts and the buddy system.
//
// A [Node] is one member's view of the group. It is a pure state machine:
// the shell hands it the time and every message received, and it answers
// with the messages to send ([Out]); it reads no clock, starts no goroutine,
// does no I/O and takes no lock, and its only randomness is the seeded
// *rand.Rand given to [New]. The same inputs give the same outputs, so a
// whole group can be replayed from a seed. A Node is not safe for
// concurrent use.
//
// The protocol, one probe period at a time (config.go gives the defaults):
//
//   - Each period the node pings one member, chosen round-robin over a list
//     shuffled anew every round, so every member is probed once per round
//     (probe.go). No ack within the probe timeout: it asks IndirectChecks
//     other members to ping the target for it (ping-req); they answer with
//     the target's ack, or with a nack when they heard nothing, which tells
//     the asker its own network is fine. No ack at all by the end of the
//     period: the target is suspect.
//   - A suspicion ends in a dead declaration unless the suspect refutes it
//     by raising its own incarnation (only a node raises its own). Its
//     timeout starts at the maximum and shrinks towards the minimum as other
//     members independently confirm it (suspicion.go). A refutation is
//     gossiped at once, and re-sent to any member that still holds the
//     refuted suspicion (the news of it may have missed that member).
//   - Every message carries up to MaxPiggyback member updates (alive,
//     suspect, dead, left with incarnations), each sent a bounded number of
//     times (broadcast.go); a gossip tick sends them to a few members too.
//     Updates merge by a total order, so any order of arrival gives the
//     same result (member.go).
//   - A message to a member held suspect, dead or left carries that news
//     first, so the suspect learns of it at once and refutes (the buddy
//     system), and a member declared dead that is in fact running (a healed
//     partition, a restart) refutes too.
//   - A node that misses acks and nacks, or hears itself suspected, raises
//     its local-health score, which stretches its probe period, probe
//     timeout and (unlike memberlist) its suspicion timeouts; prompt acks
//     lower it (awareness.go). A probe period that ended before the node
//     even ran to send its ping-reqs counts against the node, not the
//     target. A node starved of CPU then probes slowly and waits long
//     rather than suspecting members that answered in time.
//   - A node that leaves says so ([Node.Leave]): left is distinct from dead
//     (nothing went wrong) and final for that incarnation; a node that
//     comes back raises its incarnation past it.
//
// Membership itself (who belongs to the cluster) is not decided here: the
// shell adds the members it knows of ([Node.Add]) from the cluster state
// and drops those removed for good ([Node.Forget]); swim only says which of
// them are reachable. A restarted node may start at incarnation 0: the
// first member to answer it tells it of any suspicion or death of its
// previous life, and it refutes.
package swim
