// Package antientropy is the pure core of Shoal's anti-entropy (Dynamo,
// SOSP 2007, §4.7): the exchange of one partition between this node (the
// initiator) and one peer replica, as a state machine in the manner of
// driver/coord. It compares the two replicas' hash trees (storaged/merkle),
// descends only where hashes differ, and names the keys to repair:
//
//  1. ExchangeTop: the initiator sends its root and tree size; a peer with
//     the same root answers so and the exchange ends (one round trip);
//     otherwise it sends every branch hash, folded to the smaller tree.
//  2. ExchangeLeaves: the leaf hashes under the differing branches, at most
//     Config.MaxBranches branches per round trip (Riak's MAX_RESULTS),
//     continuing in later rounds.
//  3. ExchangeKeys: (key, merkle.Hash) of every key in the differing
//     leaves, at most Config.MaxLeaves leaves per request, in pages of at
//     most Config.MaxKeys with a cursor. The initiator's own key hashes of
//     the same leaves, with its objects' version vectors, come from its
//     shell (Ready.Scan, answered by Local), which scans its store.
//  4. A key one side lacks goes to that side at once: Ready.Fetch (get the
//     peer's object and merge it here) or Ready.Push (send this node's
//     object to the peer to merge there). Hashes cannot tell which of two
//     different objects is newer, so the keys both sides hold differently
//     wait for ExchangeClocks: the peer's version vectors of them, at most
//     Config.MaxClocks keys a request, sent once the key rounds are over
//     (or a request's worth is waiting). Compared with this node's own
//     (Direction), each such key is fetched only, pushed only, or both
//     (concurrent or equal clocks): each differing object moves once, in
//     the direction(s) needed. When no key is held differently on both
//     sides, there is no clock round. Repair is a DVV merge, never an
//     overwrite; the shell does it.
//  5. Done, with Stats: hashes compared at each level, clocks compared,
//     keys repaired, round trips and metadata bytes.
//
// Nothing here sends, scans, waits or reads a clock: the shell makes the
// sends, feeds the decoded answers back (Answer, Fail), scans its store
// (Local), repairs, and owns timeouts, throttling and the schedule. The
// peer's side is pure too: AnswerTop, AnswerLeaves, Page and ClockPage build
// its answers from its tree, a scan of its store and reads of the keys
// asked.
//
// What the shells must enforce, outside this package: only node
// certificates of current members may ask (wire marks the four requests
// node-only); a node refuses an exchange of a partition it does not
// replicate, from a different ring version, or while that partition's tree
// is rebuilding; and the initiator compares against a snapshot of its tree
// (merkle.Tree.Clone), since writes go on. Writes in flight on either side
// show up as false differences at the key level; a DVV merge makes repairing
// them harmless.
//
// An on-demand repair (wire.Repair, `shoal repair`) is a pass of such
// exchanges run now; Repair tallies its progress (partitions done, exchanges
// and their failures, keys repaired) from the outcomes its shell reports.
//
// An Exchange, or a Repair, is used by one goroutine at a time.
package antientropy
