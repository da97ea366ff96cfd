package dvv

// Hard caps on what a decoder accepts, checked before anything is allocated.
// They bound how much memory a small hostile input can make a decoder
// allocate, on top of the frame pre-pass that checks every declared length
// against the bytes that remain (DESIGN.md §4). Encoders refuse values over
// the caps too, so that everything this package encodes it can decode.
const (
	// MaxDecodeEntries caps the entries of one version vector. A VV has one
	// entry per actor (node incarnation) that ever coordinated a write of the
	// object, so even a large cluster with many restarts stays far below.
	MaxDecodeEntries = 4096

	// MaxDecodeSiblings caps the siblings of one set. Storage nodes refuse
	// writes well before this (a per-key sibling limit); the cap only bounds
	// decoding.
	MaxDecodeSiblings = 1024

	// MaxActorNode caps the length in bytes of an actor's node id.
	MaxActorNode = 256
)
