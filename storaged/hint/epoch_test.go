package hint

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestMintEpoch(t *testing.T) {
	// Zero and the avoided epoch are skipped.
	src := bytes.NewReader([]byte{
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 9,
		0, 0, 0, 0, 0, 0, 0, 10,
	})
	e, err := MintEpoch(src, 9)
	if err != nil || e != 10 {
		t.Errorf("MintEpoch = %d, %v; want 10", e, err)
	}
	if _, err := MintEpoch(bytes.NewReader([]byte{1, 2, 3}), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short random source: %v, want io.ErrUnexpectedEOF", err)
	}
}
