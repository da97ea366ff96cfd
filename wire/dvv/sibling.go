package dvv

import "bytes"

// Sibling is one value of an object together with the dot of the write that
// created it. A tombstone is a value too: it records a delete, so that the
// delete wins over what it causally follows and stays concurrent with what it
// does not (DESIGN.md §2, Delete). A tombstone's Value is kept and encoded but
// not returned by Set.Values.
type Sibling struct {
	Dot       Dot
	Value     []byte
	Tombstone bool
}

// Equal reports whether s and t have the same dot, tombstone flag and value
// bytes (a nil and an empty value are equal).
func (s Sibling) Equal(t Sibling) bool {
	return s.Dot == t.Dot && s.Tombstone == t.Tombstone && bytes.Equal(s.Value, t.Value)
}

// compareContent orders two siblings by content alone: live before
// tombstone, then by value bytes. Merge uses it to pick deterministically
// between two siblings that claim the same dot with different contents, which
// only corruption or a bug can produce.
func compareContent(s, t Sibling) int {
	if s.Tombstone != t.Tombstone {
		if t.Tombstone {
			return -1
		}
		return 1
	}
	return bytes.Compare(s.Value, t.Value)
}
