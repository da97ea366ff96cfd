package setvalue

import (
	"bytes"
	"fmt"
	"slices"
)

// Merge decodes siblings (the values a driver Get or Update hands over) and
// returns their union, with the largest stamp among them; a checker's final
// read uses it. Any undecodable sibling fails the merge rather than being
// skipped, since skipping would hide lost data. No siblings give an empty
// Set. siblings are not modified.
func Merge(siblings [][]byte) (Set, error) {
	var all []uint64
	var stamp int64
	for i, sib := range siblings {
		s, err := Decode(sib)
		if err != nil {
			return Set{}, fmt.Errorf("%w (sibling %d of %d)", err, i+1, len(siblings))
		}
		all = append(all, s.Elements...)
		if i == 0 || s.Stamp > stamp {
			stamp = s.Stamp
		}
	}
	slices.Sort(all)
	return Set{Elements: slices.Compact(all), Stamp: stamp}, nil
}

// Union is the workload's resolver for driver.Client.Update: it folds every
// sibling into their union, adds the element add, and encodes the result
// stamped now. It never drops an element of any sibling, is deterministic,
// and is safe to run again over its own output, as Update requires. It
// fails, aborting the update, if a sibling does not decode.
func Union(siblings [][]byte, add uint64, now int64) ([]byte, error) {
	s, err := Merge(siblings)
	if err != nil {
		return nil, err
	}
	return Set{Elements: append(s.Elements, add), Stamp: now}.Encode(), nil
}

// LastWriteWins is a wrong resolver, for negative-control tests only: it
// keeps the sibling with the highest stamp (ties go to the larger encoding,
// so the choice does not depend on sibling order), adds the element, and
// stamps the result now. Every element only a losing sibling holds is
// dropped: concurrent adds are lost, which a set checker must report.
func LastWriteWins(siblings [][]byte, add uint64, now int64) ([]byte, error) {
	var (
		win    Set
		winEnc []byte
	)
	for i, sib := range siblings {
		s, err := Decode(sib)
		if err != nil {
			return nil, fmt.Errorf("%w (sibling %d of %d)", err, i+1, len(siblings))
		}
		if winEnc == nil || s.Stamp > win.Stamp || (s.Stamp == win.Stamp && bytes.Compare(sib, winEnc) > 0) {
			win, winEnc = s, sib
		}
	}
	return Set{Elements: append(win.Elements, add), Stamp: now}.Encode(), nil
}
