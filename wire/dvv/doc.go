// Package dvv implements dotted version vector sets, the causal context Shoal
// keeps with every object (Almeida, Baquero, Gonçalves, Preguiça, Fonte:
// "Dotted Version Vectors: Logical Clocks for Optimistic Replication", 2010;
// "Scalable and Accurate Causality Tracking for Eventually Consistent Stores",
// DAIS 2014). The representation is the one Riak 2.0 adopted: every sibling
// carries the dot (actor, counter) of the write that created it, and one
// version vector summarises every event the object has seen.
//
// Actors are server node incarnations, never clients (see DESIGN.md §2): the
// node that coordinates a put assigns the dot, so clocks stay as small as the
// replica set and two concurrent writers always show up as siblings.
//
// The package is a pure functional core: every operation takes values and
// returns new values, performs no I/O and depends on no map order. Values of
// every type here are safe for concurrent reads; no method mutates its
// receiver except the DecodeMsgpack methods.
//
// Byte slices held in siblings (Sibling.Value) are treated as immutable: the
// operations share them between their inputs and outputs instead of copying
// them, so callers must not modify a value after handing it to this package or
// after receiving it from it. Slices of siblings and of version vector entries
// are never shared between inputs and outputs.
//
// Encoding uses msgpack arrays with a fixed layout (see codec.go). Decoders are
// strict and bounded because their input comes from the network.
package dvv
