package coord

import "github.com/shoalkv/shoal/wire/dvv"

// stale reports whether a replica's answer (found, with its copy held)
// lacks part of merged, the read's merge of every answer: such a primary
// gets merged as a read repair (paper §4.6). A replica that has nothing
// lacks something only when the merge holds anything, tombstones included.
func stale(found bool, held, merged dvv.Set) bool {
	if !found {
		return len(merged.VV) > 0
	}
	return !held.Equal(merged)
}
