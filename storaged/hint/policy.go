package hint

import (
	"fmt"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Policy bounds the hints a node holds for one owner. A fallback that kept
// accepting hints for a node that never returns would fill its disk, and the
// longer an owner is gone the less a hint is worth next to a full repair by
// anti-entropy (paper §4.7), so both the size of the backlog and its age are
// capped. The zero Policy refuses nothing.
type Policy struct {
	// MaxBytes caps the encoded bytes of an owner's records, kept ones
	// included; a write that would grow them past it is refused. Zero means
	// no cap.
	MaxBytes int64
	// MaxKeys caps an owner's records (one per key), kept ones included; a
	// write that would create one more is refused. Zero means no cap.
	MaxKeys int64
	// Window is Cassandra's max_hint_window: once the oldest pending record
	// for an owner is older than Window, new records for it are refused
	// (the owner has been away too long; anti-entropy will repair it), while
	// writes merging into records it already has are still accepted. Zero
	// means no window.
	Window time.Duration
}

// Write describes a hinted write about to be applied to one record.
type Write struct {
	// New is true when the write creates the record.
	New bool
	// Grow is the change in the record's encoded size, in bytes (negative
	// when it shrinks, for example when siblings collapse).
	Grow int64
}

// Limit names the bound that refused a write.
type Limit uint8

// The limits of a Policy.
const (
	LimitBytes Limit = iota + 1
	LimitKeys
	LimitWindow
)

func (l Limit) String() string {
	switch l {
	case LimitBytes:
		return "byte cap"
	case LimitKeys:
		return "key cap"
	case LimitWindow:
		return "hint window"
	}
	return fmt.Sprintf("limit(%d)", uint8(l))
}

// RefusedError is a hinted write a Policy refused. It matches ErrRefused.
type RefusedError struct {
	Owner ring.NodeID
	Limit Limit
	// Have is the backlog's current value of the limited quantity (bytes,
	// records, or the oldest record's age in milliseconds) and Max its
	// bound, in the same unit.
	Have, Max int64
}

func (e *RefusedError) Error() string {
	switch e.Limit {
	case LimitBytes:
		return fmt.Sprintf("hint: refused for owner %q: %s of %d bytes reached (holding %d)", e.Owner, e.Limit, e.Max, e.Have)
	case LimitKeys:
		return fmt.Sprintf("hint: refused for owner %q: %s of %d records reached", e.Owner, e.Limit, e.Max)
	case LimitWindow:
		return fmt.Sprintf("hint: refused for owner %q: %s of %v passed (oldest pending hint is %v old); anti-entropy must repair it",
			e.Owner, e.Limit, time.Duration(e.Max)*time.Millisecond, time.Duration(e.Have)*time.Millisecond)
	}
	return fmt.Sprintf("hint: refused for owner %q: %s", e.Owner, e.Limit)
}

// Is reports whether target is ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Admit decides whether w may be applied to a record of owner at time now,
// where pending is the owner's backlog (the records to deliver) and kept
// summarises its kept records (Record.Kept: refused by the owner for good).
// It returns nil or a *RefusedError naming the first bound w would break,
// checked in the order window, keys, bytes. The window counts only pending
// records: a kept one is not waiting for the owner to come back. The caps
// count both: they bound the disk the owner's records take, and an owner
// that refused everything would otherwise make them unbounded. Writes that
// do not create a record pass the window and key checks; writes that do not
// grow the records pass the byte check.
func (p Policy) Admit(owner ring.NodeID, pending, kept Backlog, w Write, now time.Time) error {
	if w.New && p.Window > 0 && pending.Keys > 0 {
		age := now.UnixMilli() - pending.OldestMS
		if window := p.Window.Milliseconds(); age > window {
			return &RefusedError{Owner: owner, Limit: LimitWindow, Have: age, Max: window}
		}
	}
	keys, bytes := pending.Keys+kept.Keys, pending.Bytes+kept.Bytes
	if w.New && p.MaxKeys > 0 && keys+1 > p.MaxKeys {
		return &RefusedError{Owner: owner, Limit: LimitKeys, Have: keys, Max: p.MaxKeys}
	}
	if w.Grow > 0 && p.MaxBytes > 0 && bytes+w.Grow > p.MaxBytes {
		return &RefusedError{Owner: owner, Limit: LimitBytes, Have: bytes, Max: p.MaxBytes}
	}
	return nil
}
