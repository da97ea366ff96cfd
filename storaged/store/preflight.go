package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// preflight checks the page structure of a bbolt file before bbolt maps it,
// reading the file with ReadAt, so that damage shows up as an error here
// rather than as what bbolt does with it: it trusts page numbers and counts
// it reads from the file, so a damaged file can make it fault on the map
// (fatal to the process), recurse forever through a page that refers to an
// ancestor (a fatal stack overflow), allocate what a damaged count says
// (a fatal out-of-memory), or panic on an assertion. bbolt's own tx.Check,
// run after this, checks the rest (key order, pages neither reachable nor
// free). What preflight guarantees: a meta page that validates (the one
// bbolt will choose), a file that holds every page below the high-water
// mark, a freelist page whose ids fit in it and lie below the mark, and a
// tree of branch and leaf pages (through every bucket) in which each page
// lies below the mark, is referenced once, has the type and id it should,
// and holds its elements within its bounds.
//
// An empty file is fine: bbolt initialises it. An error matching
// *readError is a failure to read, not a finding about the file.
func preflight(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return &readError{err}
	}
	if !info.Mode().IsRegular() {
		return &readError{fmt.Errorf("%s is not a regular file (mode %s)", f.Name(), info.Mode())}
	}
	if info.Size() == 0 {
		return nil
	}
	p := &pageReader{f: f, size: info.Size()}
	m, err := p.meta()
	if err != nil {
		return err
	}
	p.pageSize = int64(m.pageSize)
	if need := int64(m.pgid) * p.pageSize; m.pgid < 2 || need > p.size || need/p.pageSize != int64(m.pgid) {
		return fmt.Errorf("high-water mark page %d (%d-byte pages) needs a file of at least that many pages; the file has %d bytes", m.pgid, p.pageSize, p.size)
	}
	p.hwm = m.pgid
	if err := p.freelist(m.freelist); err != nil {
		return err
	}
	return p.tree(m.root)
}

// bbolt's file format, as far as preflight reads it (native byte order, as
// bbolt writes it).
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeader      = 16 // id u64, flags u16, count u16, overflow u32
	elementSize     = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	bucketHeader    = 16 // root u64, sequence u64
	branchFlag      = 0x01
	leafFlag        = 0x02
	metaFlag        = 0x04
	freelistFlag    = 0x10
	bucketLeafFlag  = 0x01
	noFreelist      = ^uint64(0)
	maxInlineDepth  = 16
	maxPageSizeLog2 = 24 // bbolt looks for the second meta page up to 16 MiB
)

var order = binary.NativeEndian

// readError is a failure to read the file (an I/O error, not a short read):
// it says nothing about the file's content, so it does not quarantine it.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readAt fills buf from off. A short read (the file ends) is not an error:
// it returns how much it read; any other failure is a *readError.
func (p *pageReader) readAt(buf []byte, off int64) (int, error) {
	n, err := p.f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return n, &readError{fmt.Errorf("read %d bytes at offset %d: %w", len(buf), off, err)}
	}
	return n, nil
}

// boltMeta is what preflight uses of a meta page.
type boltMeta struct {
	pageSize           uint32
	root, freelist     uint64
	pgid               uint64
	txid               uint64
	valid              bool
	magicOK, versionOK bool
}

type pageReader struct {
	f        *os.File
	size     int64
	pageSize int64
	hwm      uint64
	seen     map[uint64]bool
	buf      []byte // the last page read, reused
}

// meta returns the meta page bbolt will use: of the two, the one with the
// higher transaction id that validates (magic, version, FNV-64a checksum).
func (p *pageReader) meta() (boltMeta, error) {
	m0, err := p.metaAt(0)
	if err != nil {
		return boltMeta{}, err
	}
	var m1 boltMeta
	if m0.valid {
		m1, err = p.metaAt(int64(m0.pageSize))
	} else {
		for i := 10; i <= maxPageSizeLog2 && !m1.valid && err == nil; i++ {
			m1, err = p.metaAt(1 << i)
		}
	}
	if err != nil {
		return boltMeta{}, err
	}
	switch {
	case m0.valid && m1.valid && m1.txid > m0.txid, !m0.valid && m1.valid:
		return m1, nil
	case m0.valid:
		return m0, nil
	case m0.magicOK && !m0.versionOK:
		return boltMeta{}, fmt.Errorf("meta page 0 has bbolt format version other than %d", boltVersion)
	}
	return boltMeta{}, fmt.Errorf("neither meta page validates (file of %d bytes)", p.size)
}

func (p *pageReader) metaAt(off int64) (boltMeta, error) {
	var buf [pageHeader + 64]byte
	if n, err := p.readAt(buf[:], off); n < len(buf) {
		return boltMeta{}, err
	}
	b := buf[pageHeader:]
	m := boltMeta{
		pageSize: order.Uint32(b[8:]),
		root:     order.Uint64(b[16:]),
		freelist: order.Uint64(b[32:]),
		pgid:     order.Uint64(b[40:]),
		txid:     order.Uint64(b[48:]),
		magicOK:  order.Uint32(b[0:]) == boltMagic,
	}
	m.versionOK = order.Uint32(b[4:]) == boltVersion
	h := fnv.New64a()
	_, _ = h.Write(b[:56])
	m.valid = m.magicOK && m.versionOK && h.Sum64() == order.Uint64(b[56:]) &&
		order.Uint16(buf[8:]) == metaFlag && m.pageSize >= 1024 && m.pageSize&(m.pageSize-1) == 0
	return m, nil
}

// page reads page id with its overflow pages, checking its header. The
// page is valid until the next call.
func (p *pageReader) page(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= p.hwm {
		return nil, fmt.Errorf("page %d: outside pages 2 to %d below the high-water mark", id, p.hwm-1)
	}
	if int64(cap(p.buf)) < p.pageSize {
		p.buf = make([]byte, p.pageSize)
	}
	head := p.buf[:p.pageSize]
	if n, err := p.readAt(head, int64(id)*p.pageSize); n < len(head) {
		return nil, errors.Join(fmt.Errorf("page %d: the file ends inside it", id), err)
	}
	if got := order.Uint64(head[0:]); got != id {
		return nil, fmt.Errorf("page %d: header says page %d", id, got)
	}
	flag := order.Uint16(head[8:])
	okFlag := false
	for _, f := range flags {
		okFlag = okFlag || flag == f
	}
	if !okFlag {
		return nil, fmt.Errorf("page %d: type flags %#x, want one of %#x", id, flag, flags)
	}
	n := uint64(order.Uint32(head[12:])) + 1
	if n > p.hwm-id {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the high-water mark %d", id, n-1, p.hwm)
	}
	if n == 1 {
		return head, nil
	}
	// The high-water mark lies within the file (preflight checked), so
	// this allocation is bounded by the file's size.
	p.buf = make([]byte, int64(n)*p.pageSize)
	if k, err := p.readAt(p.buf, int64(id)*p.pageSize); k < len(p.buf) {
		return nil, errors.Join(fmt.Errorf("page %d: the file ends inside it", id), err)
	}
	return p.buf, nil
}

// freelist checks the freelist page: its ids fit in it and lie below the
// high-water mark.
func (p *pageReader) freelist(id uint64) error {
	if id == noFreelist {
		return fmt.Errorf("the meta page says the freelist is not synced, which this store never does")
	}
	buf, err := p.page(id, freelistFlag)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	start, count := uint64(pageHeader), uint64(order.Uint16(buf[10:]))
	if count == 0xFFFF {
		if len(buf) < pageHeader+8 {
			return fmt.Errorf("freelist page %d: too short for its count", id)
		}
		start, count = pageHeader+8, order.Uint64(buf[pageHeader:])
	}
	if room := (uint64(len(buf)) - start) / 8; count > room {
		return fmt.Errorf("freelist page %d: %d ids, room for %d", id, count, room)
	}
	for i := range count {
		if free := order.Uint64(buf[start+8*i:]); free < 2 || free >= p.hwm {
			return fmt.Errorf("freelist page %d: free page %d outside pages 2 to %d", id, free, p.hwm-1)
		}
	}
	return nil
}

// tree walks every page reachable from the root bucket's root page.
func (p *pageReader) tree(root uint64) error {
	p.seen = make(map[uint64]bool)
	stack := []uint64{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p.seen[id] {
			return fmt.Errorf("page %d: referenced twice", id)
		}
		p.seen[id] = true
		buf, err := p.page(id, branchFlag, leafFlag)
		if err != nil {
			return err
		}
		if stack, err = p.elements(id, buf, stack, 0); err != nil {
			return err
		}
	}
	return nil
}

// elements checks the elements of page id (buf, possibly an inline bucket's
// page) and appends the pages they refer to to stack.
func (p *pageReader) elements(id uint64, buf []byte, stack []uint64, depth int) ([]uint64, error) {
	if len(buf) < pageHeader {
		return nil, fmt.Errorf("page %d: %d bytes, shorter than a page header", id, len(buf))
	}
	flag, count := order.Uint16(buf[8:]), int(order.Uint16(buf[10:]))
	if pageHeader+count*elementSize > len(buf) {
		return nil, fmt.Errorf("page %d: %d elements do not fit in %d bytes", id, count, len(buf))
	}
	for i := range count {
		off := pageHeader + i*elementSize
		e := buf[off : off+elementSize]
		if flag == branchFlag {
			if err := within(id, buf, off, order.Uint32(e[0:]), order.Uint32(e[4:]), 0); err != nil {
				return nil, err
			}
			stack = append(stack, order.Uint64(e[8:]))
			continue
		}
		pos, ksize, vsize := order.Uint32(e[4:]), order.Uint32(e[8:]), order.Uint32(e[12:])
		if err := within(id, buf, off, pos, ksize, vsize); err != nil {
			return nil, err
		}
		if order.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		v := buf[off+int(pos)+int(ksize):][:vsize]
		if len(v) < bucketHeader {
			return nil, fmt.Errorf("page %d: bucket entry %d of %d bytes, shorter than a bucket header", id, i, len(v))
		}
		if r := order.Uint64(v); r != 0 {
			stack = append(stack, r)
			continue
		}
		if depth >= maxInlineDepth {
			return nil, fmt.Errorf("page %d: inline buckets nested over %d deep", id, maxInlineDepth)
		}
		inline := v[bucketHeader:]
		if len(inline) < pageHeader || order.Uint16(inline[8:]) != leafFlag {
			return nil, fmt.Errorf("page %d: inline bucket %d is not a leaf page", id, i)
		}
		var err error
		if stack, err = p.elements(id, inline, stack, depth+1); err != nil {
			return nil, err
		}
	}
	return stack, nil
}

// within checks that an element at off whose key (ksize bytes, then vsize
// bytes of value) starts pos bytes after it lies inside buf.
func within(id uint64, buf []byte, off int, pos, ksize, vsize uint32) error {
	end := uint64(off) + uint64(pos) + uint64(ksize) + uint64(vsize)
	if end > uint64(len(buf)) {
		return fmt.Errorf("page %d: element at byte %d ends at byte %d, past the page's %d", id, off, end, len(buf))
	}
	return nil
}
