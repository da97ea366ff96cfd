package member

import "errors"

// Errors returned by this package; match them with errors.Is. Returned errors
// wrap these with details.
var (
	// ErrCluster: the states belong to different clusters; they never merge.
	ErrCluster = errors.New("member: different cluster ids")
	// ErrConflict: two values of one register at the same position (ring
	// version, staging revision, or a node's epoch, incarnation and seq)
	// differ. One writer minted two values: a bug that is reported, never
	// resolved by picking one.
	ErrConflict = errors.New("member: conflicting values at one version")
	// ErrInvalid: a state, claim, record or change breaks a rule of this
	// package.
	ErrInvalid = errors.New("member: invalid")
	// ErrStale: an update is not newer than what the state holds.
	ErrStale = errors.New("member: update is not newer")
	// ErrMalformed: bytes that [Decode] does not accept.
	ErrMalformed = errors.New("member: malformed encoding")
)
