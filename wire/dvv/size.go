package dvv

// Size returns the length in bytes of s's encoding (EncodeSet), computed
// without encoding: the values plus per-sibling and per-entry overhead.
// Storage nodes use it to enforce object size limits. It is exact for a set
// within the codec's caps.
func (s Set) Size() int {
	n := arrayHeaderSize(2) + arrayHeaderSize(len(s.Siblings))
	for _, x := range s.Siblings {
		n += arrayHeaderSize(3) + countedSize(x.Dot.Actor, x.Dot.Counter) + binSize(len(x.Value)) + 1
	}
	return n + vvSize(s.VV)
}

func vvSize(v VV) int {
	n := arrayHeaderSize(len(v))
	for _, e := range v {
		n += countedSize(e.Actor, e.Counter)
	}
	return n
}

func countedSize(a Actor, counter uint64) int {
	return arrayHeaderSize(2) + arrayHeaderSize(2) + strSize(len(a.Node)) + uintSize(a.Epoch) + uintSize(counter)
}

func arrayHeaderSize(n int) int {
	switch {
	case n < 16:
		return 1
	case n <= 0xffff:
		return 3
	}
	return 5
}

func strSize(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n <= 0xff:
		return 2 + n
	case n <= 0xffff:
		return 3 + n
	}
	return 5 + n
}

func binSize(n int) int {
	switch {
	case n <= 0xff:
		return 2 + n
	case n <= 0xffff:
		return 3 + n
	}
	return 5 + n
}

func uintSize(x uint64) int {
	switch {
	case x <= 0x7f:
		return 1
	case x <= 0xff:
		return 2
	case x <= 0xffff:
		return 3
	case x <= 0xffffffff:
		return 5
	}
	return 9
}
