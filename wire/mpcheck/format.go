package mpcheck

// kind is how a msgpack format is laid out after its first byte.
type kind uint8

const (
	kindInvalid kind = iota // 0xc1, never used by the format
	kindFixed               // the whole value is size bytes
	kindBytes               // str or bin: length, then that many bytes
	kindExt                 // length, type byte, then that many data bytes
	kindArray               // count, then that many values
	kindMap                 // count, then twice that many values (key, value)
)

// format describes the values that start with one particular byte.
type format struct {
	name   string // the format's name in the msgpack spec, e.g. "bin32"
	family string // what messages call it: "array", "map", "str", "bin", "ext"
	kind   kind
	size   uint8 // kindFixed: size of the whole value in bytes
	lenLen uint8 // width of the big-endian length or count after the first byte
	fixed  uint8 // the length or count when lenLen is 0 (fixstr, fixext, ...)
}

// formats maps every first byte to its format; see
// https://github.com/msgpack/msgpack/blob/master/spec.md#formats.
var formats = buildFormats()

func buildFormats() *[256]format {
	var t [256]format
	for c := 0x00; c <= 0x7f; c++ {
		t[c] = format{name: "positive fixint", kind: kindFixed, size: 1}
	}
	for c := 0x80; c <= 0x8f; c++ {
		t[c] = format{name: "fixmap", family: "map", kind: kindMap, fixed: uint8(c & 0x0f)}
	}
	for c := 0x90; c <= 0x9f; c++ {
		t[c] = format{name: "fixarray", family: "array", kind: kindArray, fixed: uint8(c & 0x0f)}
	}
	for c := 0xa0; c <= 0xbf; c++ {
		t[c] = format{name: "fixstr", family: "str", kind: kindBytes, fixed: uint8(c & 0x1f)}
	}
	for c := 0xe0; c <= 0xff; c++ {
		t[c] = format{name: "negative fixint", kind: kindFixed, size: 1}
	}
	fixed := func(name string, size uint8) format {
		return format{name: name, kind: kindFixed, size: size}
	}
	sized := func(name, family string, k kind, lenLen uint8) format {
		return format{name: name, family: family, kind: k, lenLen: lenLen}
	}
	fixext := func(name string, n uint8) format {
		return format{name: name, family: "ext", kind: kindExt, fixed: n}
	}
	t[0xc0] = fixed("nil", 1)
	t[0xc1] = format{name: "never used", kind: kindInvalid}
	t[0xc2] = fixed("false", 1)
	t[0xc3] = fixed("true", 1)
	t[0xc4] = sized("bin8", "bin", kindBytes, 1)
	t[0xc5] = sized("bin16", "bin", kindBytes, 2)
	t[0xc6] = sized("bin32", "bin", kindBytes, 4)
	t[0xc7] = sized("ext8", "ext", kindExt, 1)
	t[0xc8] = sized("ext16", "ext", kindExt, 2)
	t[0xc9] = sized("ext32", "ext", kindExt, 4)
	t[0xca] = fixed("float32", 5)
	t[0xcb] = fixed("float64", 9)
	t[0xcc] = fixed("uint8", 2)
	t[0xcd] = fixed("uint16", 3)
	t[0xce] = fixed("uint32", 5)
	t[0xcf] = fixed("uint64", 9)
	t[0xd0] = fixed("int8", 2)
	t[0xd1] = fixed("int16", 3)
	t[0xd2] = fixed("int32", 5)
	t[0xd3] = fixed("int64", 9)
	t[0xd4] = fixext("fixext1", 1)
	t[0xd5] = fixext("fixext2", 2)
	t[0xd6] = fixext("fixext4", 4)
	t[0xd7] = fixext("fixext8", 8)
	t[0xd8] = fixext("fixext16", 16)
	t[0xd9] = sized("str8", "str", kindBytes, 1)
	t[0xda] = sized("str16", "str", kindBytes, 2)
	t[0xdb] = sized("str32", "str", kindBytes, 4)
	t[0xdc] = sized("array16", "array", kindArray, 2)
	t[0xdd] = sized("array32", "array", kindArray, 4)
	t[0xde] = sized("map16", "map", kindMap, 2)
	t[0xdf] = sized("map32", "map", kindMap, 4)
	return &t
}

// headerLen is the number of bytes before the payload: the first byte, the
// length field and, for extensions, the type byte.
func (f *format) headerLen() int {
	n := 1 + int(f.lenLen)
	if f.kind == kindExt {
		n++
	}
	return n
}
