package dvv

// Merge returns the synchronisation of two replicas' states of one object
// (the DVV set "sync"). The result's VV is the pointwise maximum of a.VV and
// b.VV. A sibling of one side survives if and only if the other side holds the
// same dot too, or the other side's VV does not cover the dot: a covered but
// missing dot means the other side saw that write and a later write
// superseded it. So Merge never drops a value concurrent with what the other
// side knows.
//
// Merge is commutative, associative and idempotent for valid inputs (up to
// Equal), which is what lets replicas, read repair and hinted handoff apply
// merges in any order and any number of times. If both sides hold a dot with
// different contents (only corruption or a bug does that), the smaller content
// (live before tombstone, then bytewise) is kept, so the laws still hold.
//
// Both inputs must be valid; the result is valid. It shares sibling values,
// but no slices of siblings or entries, with the inputs.
func Merge(a, b Set) Set {
	var out []Sibling
	if n := len(a.Siblings) + len(b.Siblings); n > 0 {
		out = make([]Sibling, 0, n)
	}
	i, j := 0, 0
	for i < len(a.Siblings) || j < len(b.Siblings) {
		var c int
		switch {
		case i == len(a.Siblings):
			c = 1
		case j == len(b.Siblings):
			c = -1
		default:
			c = a.Siblings[i].Dot.Compare(b.Siblings[j].Dot)
		}
		switch {
		case c < 0:
			if x := a.Siblings[i]; !b.VV.Covers(x.Dot) {
				out = append(out, x)
			}
			i++
		case c > 0:
			if y := b.Siblings[j]; !a.VV.Covers(y.Dot) {
				out = append(out, y)
			}
			j++
		default:
			x, y := a.Siblings[i], b.Siblings[j]
			if compareContent(y, x) < 0 {
				x = y
			}
			out = append(out, x)
			i++
			j++
		}
	}
	return Set{Siblings: out, VV: a.VV.Merge(b.VV)}
}
