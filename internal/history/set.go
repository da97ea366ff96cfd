package history

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// The operation names CheckSet reads: "add" Value to the set at Key, and
// "delete" the set at Key with a tombstone that supersedes the elements the
// delete read first (Event.Covered).
const (
	AddF    = "add"
	DeleteF = "delete"
)

// ErrMalformed is wrapped by CheckSet's errors about a history no Recorder
// would produce.
var ErrMalformed = errors.New("history: malformed history")

// Read is the final read of one key in the set workload: the union of the
// elements in every sibling, and how many siblings there were.
type Read struct {
	Elements []uint64
	Siblings int
}

// SetKey is the set checker's verdict on one key, or on all (Total).
// Counts are of distinct elements: an element added several times counts
// once, as acknowledged if any add was ok, else unknown if any add was
// unknown or never completed, else failed.
type SetKey struct {
	Key          string
	Attempted    int // elements with an add invoked
	Acknowledged int // elements with an ok add
	Failed       int // elements whose every add failed definitely
	Unknown      int // elements with no ok add, and an unknown or unfinished one
	// Lost counts acknowledged elements missing from the final read: the
	// store broke its promise.
	Lost int
	// UnknownPresent and UnknownAbsent split Unknown by the final read;
	// both are legal.
	UnknownPresent, UnknownAbsent int
	// FailedPresent counts failed elements in the final read: a write
	// reported as definitely refused took effect.
	FailedPresent int
	// Unexpected counts elements in the final read that no add attempted
	// (on this key).
	Unexpected int
	// Deletes counts the deletes attempted; Deleted the acknowledged
	// elements absent from the final read because a delete that may have
	// taken effect (ok, unknown or unfinished) had read them: legal, not
	// lost. An acknowledged element no such delete read must be present.
	Deletes, Deleted int
	// MaxSiblings is the final read's sibling count (for Total, the
	// largest over the keys).
	MaxSiblings int
	// The offending elements, ascending (nil in Total).
	LostElements, FailedPresentElements, UnexpectedElements []uint64
}

// Valid is true when no acknowledged element was lost, no element appeared
// that was never attempted, and no definitely failed add took effect.
func (k SetKey) Valid() bool { return k.Lost == 0 && k.Unexpected == 0 && k.FailedPresent == 0 }

// SetReport is CheckSet's result.
type SetReport struct {
	Keys  []SetKey // ascending by Key
	Total SetKey   // sums over Keys (Key "total")
}

// Valid reports whether every key is valid (see SetKey.Valid).
func (r SetReport) Valid() bool { return r.Total.Valid() }

// element is what the history says about one element of one key: how its
// adds ended, and whether a delete that may have taken effect read it.
type element struct{ ok, unknown, fail, covered bool }

// CheckSet checks Jepsen's set workload: clients add unique elements to
// keys ("add" ops), may delete a key's set ("delete" ops, each with the
// elements it read first, which its tombstone supersedes; other ops are
// ignored), and at the end every key is read once, after faults healed. An
// acknowledged element may be absent only if a delete that may have taken
// effect (ok, unknown, unfinished) had read it. final maps each key to that read; a key with
// adds but no entry in final counts as read empty, so a forgotten read
// reports every acknowledged element as lost rather than passing. An add
// invoked but never completed counts as unknown. It returns an error
// wrapping ErrMalformed for a history that completes an op it never
// invoked, completes one twice, or changes an op's key or element between
// invocation and completion. It does not modify its inputs.
func CheckSet(events []Event, final map[string]Read) (SetReport, error) {
	type invoked struct {
		f       string
		key     string
		value   uint64
		covered []uint64
		done    bool
	}
	ops := make(map[int]*invoked)
	elems := make(map[string]map[uint64]*element)
	deletes := make(map[string]int)
	elem := func(key string, v uint64) *element {
		if elems[key] == nil {
			elems[key] = make(map[uint64]*element)
		}
		if elems[key][v] == nil {
			elems[key][v] = &element{}
		}
		return elems[key][v]
	}
	for _, e := range events {
		if e.F != AddF && e.F != DeleteF {
			continue
		}
		if e.Type == Invoke {
			if ops[e.Op] != nil {
				return SetReport{}, fmt.Errorf("%w: event %d invokes op %d again", ErrMalformed, e.Index, e.Op)
			}
			ops[e.Op] = &invoked{f: e.F, key: e.Key, value: e.Value, covered: e.Covered}
			if e.F == AddF {
				elem(e.Key, e.Value)
			} else {
				deletes[e.Key]++
			}
			continue
		}
		op := ops[e.Op]
		switch {
		case e.Type != Ok && e.Type != Fail && e.Type != Unknown:
			return SetReport{}, fmt.Errorf("%w: event %d has type %q", ErrMalformed, e.Index, e.Type)
		case op == nil:
			return SetReport{}, fmt.Errorf("%w: event %d completes op %d, never invoked", ErrMalformed, e.Index, e.Op)
		case op.done:
			return SetReport{}, fmt.Errorf("%w: event %d completes op %d again", ErrMalformed, e.Index, e.Op)
		case op.f != e.F || op.key != e.Key || op.value != e.Value:
			return SetReport{}, fmt.Errorf("%w: event %d completes op %d (%s %d to %q) as %s %d to %q",
				ErrMalformed, e.Index, e.Op, op.f, op.value, op.key, e.F, e.Value, e.Key)
		}
		op.done = true
		if op.f == DeleteF {
			if e.Type != Fail { // it may have taken effect
				for _, v := range op.covered {
					elem(op.key, v).covered = true
				}
			}
			continue
		}
		el := elems[e.Key][e.Value]
		switch e.Type {
		case Ok:
			el.ok = true
		case Fail:
			el.fail = true
		case Unknown:
			el.unknown = true
		}
	}
	for _, op := range ops {
		switch {
		case op.done:
		case op.f == DeleteF:
			for _, v := range op.covered {
				elem(op.key, v).covered = true
			}
		default:
			elems[op.key][op.value].unknown = true
		}
	}

	keys := slices.Sorted(maps.Keys(elems))
	for k := range final {
		if elems[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for k := range deletes {
		if elems[k] == nil && final[k].Elements == nil {
			keys = append(keys, k)
		}
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	r := SetReport{Total: SetKey{Key: "total"}}
	for _, k := range keys {
		sk := checkKey(k, elems[k], final[k])
		sk.Deletes = deletes[k]
		r.Keys = append(r.Keys, sk)
		r.Total.add(sk)
	}
	return r, nil
}

// checkKey judges one key's elements against its final read.
func checkKey(key string, elems map[uint64]*element, read Read) SetKey {
	present := make(map[uint64]bool, len(read.Elements))
	for _, v := range read.Elements {
		present[v] = true
	}
	k := SetKey{Key: key, MaxSiblings: read.Siblings}
	for _, v := range slices.Sorted(maps.Keys(elems)) {
		el, in := elems[v], present[v]
		if !el.ok && !el.unknown && !el.fail {
			if in {
				k.Unexpected++ // a delete read it, yet no add of it is known
				k.UnexpectedElements = append(k.UnexpectedElements, v)
			}
			continue
		}
		k.Attempted++
		switch {
		case el.ok:
			k.Acknowledged++
			switch {
			case in:
			case el.covered:
				k.Deleted++
			default:
				k.Lost++
				k.LostElements = append(k.LostElements, v)
			}
		case el.unknown:
			k.Unknown++
			if in {
				k.UnknownPresent++
			} else {
				k.UnknownAbsent++
			}
		default:
			k.Failed++
			if in {
				k.FailedPresent++
				k.FailedPresentElements = append(k.FailedPresentElements, v)
			}
		}
	}
	for _, v := range slices.Sorted(maps.Keys(present)) {
		if elems[v] == nil {
			k.Unexpected++
			k.UnexpectedElements = append(k.UnexpectedElements, v)
		}
	}
	return k
}

// add sums o's counts into k and keeps the larger MaxSiblings.
func (k *SetKey) add(o SetKey) {
	k.Attempted += o.Attempted
	k.Acknowledged += o.Acknowledged
	k.Failed += o.Failed
	k.Unknown += o.Unknown
	k.Lost += o.Lost
	k.UnknownPresent += o.UnknownPresent
	k.UnknownAbsent += o.UnknownAbsent
	k.FailedPresent += o.FailedPresent
	k.Unexpected += o.Unexpected
	k.Deletes += o.Deletes
	k.Deleted += o.Deleted
	k.MaxSiblings = max(k.MaxSiblings, o.MaxSiblings)
}

// maxListed bounds how many offending elements String prints per list.
const maxListed = 20

// String is a table of the counts, one row per key and a total, followed by
// the offending elements, for t.Log and for documents.
func (r SetReport) String() string {
	var b strings.Builder
	t := r.Total
	if r.Valid() {
		fmt.Fprintf(&b, "set check: valid: %d keys, %d adds attempted, %d acknowledged, none lost\n", len(r.Keys), t.Attempted, t.Acknowledged)
	} else {
		fmt.Fprintf(&b, "set check: INVALID: %d lost, %d unexpected, %d failed but present\n", t.Lost, t.Unexpected, t.FailedPresent)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "key\tattempted\tok\tfailed\tunknown\tlost\tunknown+present\tunknown-absent\tfailed+present\tunexpected\tdeletes\tdeleted\tmax siblings\t")
	for _, k := range append(slices.Clone(r.Keys), t) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k.Key, k.Attempted, k.Acknowledged, k.Failed,
			k.Unknown, k.Lost, k.UnknownPresent, k.UnknownAbsent, k.FailedPresent, k.Unexpected, k.Deletes, k.Deleted, k.MaxSiblings)
	}
	tw.Flush()
	for _, k := range r.Keys {
		list(&b, k.Key, "lost", k.LostElements)
		list(&b, k.Key, "failed but present", k.FailedPresentElements)
		list(&b, k.Key, "unexpected", k.UnexpectedElements)
	}
	return b.String()
}

func list(b *strings.Builder, key, what string, elems []uint64) {
	if len(elems) == 0 {
		return
	}
	fmt.Fprintf(b, "%s %s:", key, what)
	for _, v := range elems[:min(len(elems), maxListed)] {
		fmt.Fprintf(b, " %d", v)
	}
	if len(elems) > maxListed {
		fmt.Fprintf(b, " (and %d more)", len(elems)-maxListed)
	}
	b.WriteByte('\n')
}
