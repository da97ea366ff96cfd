package mpcheck_test

import (
	"bytes"
	"testing"
)

// maxSeed is the largest seed FuzzCheck takes from the test tables. The
// fuzzer minimizes every input that finds new coverage, byte by byte and
// then pair by pair, and a few-KiB seed whose every byte matters (such as
// the 4097-element arrays that break MaxLen) stalls it for a minute each
// time. The table tests cover those inputs.
const maxSeed = 512

// FuzzCheck holds Check to the properties in verify for any input: no
// panics, agreement with the msgpack library about well-formedness, and
// bounded decoding of whatever Check accepts. The seeds run in plain go test.
func FuzzCheck(f *testing.F) {
	for _, c := range hostile() {
		if len(c.in) <= maxSeed {
			f.Add(c.in)
		}
	}
	// A megabyte of nesting stays: the minimizer cuts its tail in 1 KiB
	// steps first, which keeps the same coverage, so it shrinks quickly.
	f.Add(deepArrays(1_000_000))
	for _, c := range validCases(f) {
		if len(c.in) <= maxSeed {
			f.Add(c.in)
		}
	}
	// Well-formed, but the library cannot decode them into an any: a
	// non-string key, an unregistered ext, a 1-byte timestamp, an interned
	// string with no dictionary.
	f.Add([]byte{0x81, 0x01, 0x02})
	f.Add([]byte{0xd4, 0x42, 0x00})
	f.Add([]byte{0xd4, 0xff, 0x00})
	f.Add([]byte{0xd4, 0x80, 0x00})
	// Nested one-entry maps: the most the library allocates per input byte
	// that Check accepts (about 165 bytes; see allocBound).
	chain := append(bytes.Repeat([]byte{0x81, 0xa0}, 15), 0xc0)
	f.Add(append([]byte{0x9f}, bytes.Repeat(chain, 15)...))

	f.Fuzz(func(t *testing.T, b []byte) {
		verify(t, b, false)
	})
}
