package history

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// AddF is the operation name CheckSet reads: "add" Value to the set at Key.
const AddF = "add"

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

// element is what the history says about one element of one key.
type element struct{ ok, unknown, fail bool }

// CheckSet checks Jepsen's set workload: clients add unique elements to
// keys ("add" ops; other ops are ignored) and at the end every key is read
// once, after faults healed. final maps each key to that read; a key with
// adds but no entry in final counts as read empty, so a forgotten read
// reports every acknowledged element as lost rather than passing. An add
// invoked but never completed counts as unknown. It returns an error
// wrapping ErrMalformed for a history that completes an op it never
// invoked, completes one twice, or changes an op's key or element between
// invocation and completion. It does not modify its inputs.
func CheckSet(events []Event, final map[string]Read) (SetReport, error) {
	type invoked struct {
		key   string
		value uint64
		done  bool
	}
	ops := make(map[int]*invoked)
	elems := make(map[string]map[uint64]*element)
	for _, e := range events {
		if e.F != AddF {
			continue
		}
		if e.Type == Invoke {
			if ops[e.Op] != nil {
				return SetReport{}, fmt.Errorf("%w: event %d invokes op %d again", ErrMalformed, e.Index, e.Op)
			}
			ops[e.Op] = &invoked{key: e.Key, value: e.Value}
			if elems[e.Key] == nil {
				elems[e.Key] = make(map[uint64]*element)
			}
			if elems[e.Key][e.Value] == nil {
				elems[e.Key][e.Value] = &element{}
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
		case op.key != e.Key || op.value != e.Value:
			return SetReport{}, fmt.Errorf("%w: event %d completes op %d (add %d to %q) as add %d to %q",
				ErrMalformed, e.Index, e.Op, op.value, op.key, e.Value, e.Key)
		}
		op.done = true
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
		if !op.done {
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
	r := SetReport{Total: SetKey{Key: "total"}}
	for _, k := range keys {
		sk := checkKey(k, elems[k], final[k])
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
		k.Attempted++
		switch {
		case el.ok:
			k.Acknowledged++
			if !in {
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
	fmt.Fprintln(tw, "key\tattempted\tok\tfailed\tunknown\tlost\tunknown+present\tunknown-absent\tfailed+present\tunexpected\tmax siblings\t")
	for _, k := range append(slices.Clone(r.Keys), t) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k.Key, k.Attempted, k.Acknowledged, k.Failed,
			k.Unknown, k.Lost, k.UnknownPresent, k.UnknownAbsent, k.FailedPresent, k.Unexpected, k.MaxSiblings)
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
