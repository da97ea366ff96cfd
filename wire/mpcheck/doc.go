// Package mpcheck validates the structure of a msgpack value before any
// decoder sees it.
//
// github.com/vmihailenco/msgpack/v5 trusts declared lengths: a 5-byte frame
// declaring a 4-billion-element array (dd ff ff ff ff) or a 4 GiB bin
// (c6 ff ff ff ff) makes it allocate hundreds of MiB, and deep nesting
// (91 91 91 ...) makes it recurse until the stack overflows. Check is the
// gate in front of it (DESIGN.md §4: every declared length is checked
// against the bytes that remain before anything is allocated, and nesting
// depth is bounded). It walks the bytes once, without recursion and without
// allocating in proportion to any declared length, and accepts a body only
// if it holds exactly one complete, well-formed value within Limits.
//
// Check is structural: it does not interpret extension payloads (the
// timestamp extension included), validate UTF-8 in strings, or require map
// keys of a particular type. Those are the business of the decoder and the
// fixed structs it decodes into.
package mpcheck
