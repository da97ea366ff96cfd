package hostile

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// unchanged returns an error when a node's copy of a key after an attack
// differs from the copy before it: the attack changed what is stored.
func unchanged(class string, key []byte, before, after wire.GetOK) error {
	if before.Found == after.Found && before.Object.Equal(after.Object) {
		return nil
	}
	return fmt.Errorf("%s attack changed the stored %q: before %s, after %s", class, key, summary(before), summary(after))
}

// summary describes a node's copy of a key briefly: sibling count, clock and
// the first few values (shortened).
func summary(g wire.GetOK) string {
	if !g.Found {
		return "absent"
	}
	var vals []string
	for i, x := range g.Object.Siblings {
		if i == 3 {
			vals = append(vals, fmt.Sprintf("... %d more", len(g.Object.Siblings)-3))
			break
		}
		v := x.Value
		if len(v) > 16 {
			v = append(slices.Clip(v[:16]), "..."...)
		}
		vals = append(vals, fmt.Sprintf("%s=%q (%d bytes)", x.Dot, v, len(x.Value)))
	}
	return fmt.Sprintf("%d siblings, clock %d entries [%s]", len(g.Object.Siblings), len(g.Object.VV), strings.Join(vals, ", "))
}

// neverWritten returns an error naming every value in got that is not one
// of the values written for key: a node or the driver returned data nobody
// wrote (corruption served as data).
func neverWritten(key string, got [][]byte, written [][]byte) error {
	var bad []string
	for _, v := range got {
		if slices.ContainsFunc(written, func(w []byte) bool { return bytes.Equal(v, w) }) {
			continue
		}
		desc := fmt.Sprintf("%q", v[:min(len(v), 32)])
		if len(written) == 1 {
			desc += fmt.Sprintf(" (%d bytes; the written value has %d and they differ from byte %d)", len(v), len(written[0]), firstDiff(v, written[0]))
		}
		bad = append(bad, desc)
	}
	if len(bad) > 0 {
		return fmt.Errorf("key %q returned %d value(s) never written: %s", key, len(bad), strings.Join(bad, ", "))
	}
	return nil
}

// firstDiff is the first offset at which a and b differ (the shorter length
// if one is a prefix of the other).
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// withSiblings returns base plus n siblings of actor a at counters
// from+1 .. from+n, sibling i holding val(i), under a clock that covers them:
// a well-formed object nobody coordinated.
func withSiblings(base dvv.Set, a dvv.Actor, from uint64, n int, val func(i int) []byte) dvv.Set {
	out := dvv.Set{Siblings: slices.Clone(base.Siblings), VV: base.VV.Clone()}
	for i := range n {
		out.Siblings = append(out.Siblings, dvv.Sibling{Dot: dvv.Dot{Actor: a, Counter: from + 1 + uint64(i)}, Value: val(i)})
	}
	slices.SortFunc(out.Siblings, func(x, y dvv.Sibling) int { return x.Dot.Compare(y.Dot) })
	out.VV = out.VV.Merge(dvv.VV{{Actor: a, Counter: from + uint64(n)}})
	return out
}
