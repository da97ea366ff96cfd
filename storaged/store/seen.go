package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// A rewound data file: the database file is older than its directory has
// seen, because someone restored an old copy of it (riak_test
// kv679_dataloss). Its records are intact, but the dots the node issued
// since the copy are lost here while peers hold them: a write coordinated
// under the old epoch would reissue one, and the peers, which count it as
// seen, would drop it. So a store that finds its file rewound keeps the
// data and takes a new epoch, which gives every key a new actor
// (replica.Self.Actor).
//
// How it knows: beside the file, dir/shoal.db.seen records the epoch and
// the id of the last transaction the directory's database committed,
// rewritten after every commit (without fsync: with the database synced
// first, the file is only ever behind it, so a lost write can only hide a
// rewind, never invent one; under NoSync a power loss can leave the
// database behind it, which is then taken as a rewind: rightly, since
// acknowledged writes were lost) and synced at Close. A database file
// under another epoch than the one recorded is a copy from elsewhere and
// is treated the same way. At Open, a file whose
// epoch matches but whose last transaction is older than the one seen is
// rewound. What it cannot see: a copy of the whole directory, the seen
// file included, restored together (or a copy of the file taken after the
// machine lost the seen file's last writes); restore a node from a copy
// only as a new node (a wiped directory), or rely on the peers' copies,
// whose higher counters still give each key it meets a fresh actor
// (replica.Merge).

// seenName is the file, in the data directory, that records what the
// database has committed.
const seenName = "shoal.db.seen"

// seenSize is the file's length: epoch, transaction id, CRC-32C of both.
const seenSize = 8 + 8 + 4

// seen is what the seen file records.
type seen struct {
	epoch uint64
	txid  uint64
}

func (v seen) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, seenSize), v.epoch)
	b = binary.BigEndian.AppendUint64(b, v.txid)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeSeen decodes the seen file; ok is false for a file that is not one
// (short, or failing its checksum): it then proves nothing.
func decodeSeen(b []byte) (seen, bool) {
	if len(b) != seenSize || crc32.Checksum(b[:16], castagnoli) != binary.BigEndian.Uint32(b[16:]) {
		return seen{}, false
	}
	return seen{epoch: binary.BigEndian.Uint64(b), txid: binary.BigEndian.Uint64(b[8:])}, true
}

// seenFile is the open seen file of a store.
type seenFile struct {
	f *os.File
}

// openSeen opens (creating) dir's seen file and returns it with what it
// recorded; ok is false when it recorded nothing readable.
func openSeen(dir string) (*seenFile, seen, bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, seenName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, seen{}, false, fmt.Errorf("store: open %s: %w", seenName, err)
	}
	b := make([]byte, seenSize+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, seen{}, false, errors.Join(fmt.Errorf("store: read %s: %w", seenName, err), f.Close())
	}
	v, ok := decodeSeen(b[:n])
	return &seenFile{f: f}, v, ok, nil
}

// record writes v over the file, syncing it if sync.
func (sf *seenFile) record(v seen, sync bool) error {
	if _, err := sf.f.WriteAt(v.encode(), 0); err != nil {
		return fmt.Errorf("store: write %s: %w", seenName, err)
	}
	if sync {
		if err := sf.f.Sync(); err != nil {
			return fmt.Errorf("store: sync %s: %w", seenName, err)
		}
	}
	return nil
}

func (sf *seenFile) close() error { return sf.f.Close() }

// lastTx returns the id of the last transaction db committed.
func lastTx(db *bolt.DB) (uint64, error) {
	var id uint64
	err := db.View(func(tx *bolt.Tx) error {
		id = uint64(tx.ID())
		return nil
	})
	return id, err
}

// checkRewound compares the database, whose last transaction was found
// when Open opened it (before Open's own transactions), with what its
// directory has seen and, if the file was rewound, gives the store a new
// epoch (durably) and reports it; either way it leaves the seen file
// recording the database's state, synced.
func (s *Store) checkRewound(found uint64) error {
	sf, was, ok, err := openSeen(s.dir)
	if err != nil {
		return err
	}
	txid, err := lastTx(s.db)
	if err != nil {
		return errors.Join(fmt.Errorf("store: read the last transaction: %w", err), sf.close())
	}
	// A file that is not new here and does not carry the epoch the
	// directory last recorded is a copy from elsewhere (a backup taken
	// under an earlier epoch, or the same old copy restored twice): as
	// suspect as an older transaction. (A crash between renewEpoch and
	// the seen file's write leaves the same mismatch; taking one more new
	// epoch then costs nothing.)
	if ok && !s.fresh && (was.epoch != s.epoch || found < was.txid) {
		old := s.epoch
		if err := s.renewEpoch(); err != nil {
			return errors.Join(err, sf.close())
		}
		s.rewound = true
		s.opts.Logger.Error("store: the database file is older than this directory has seen (restored from a copy?): keeping its data under a new epoch, so that no write the node issued since the copy is issued again",
			"dir", s.dir, "file_tx", found, "seen_tx", was.txid, "old_epoch", old, "epoch", s.epoch)
		if txid, err = lastTx(s.db); err != nil {
			return errors.Join(err, sf.close())
		}
	}
	if err := sf.record(seen{epoch: s.epoch, txid: txid}, true); err != nil {
		return errors.Join(err, sf.close())
	}
	s.seen = sf
	return nil
}

// renewEpoch records a new epoch in the database, durably, and adopts it.
func (s *Store) renewEpoch() error {
	e, err := NewEpoch(s.opts.Rand)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return putRecord(tx.Bucket(Meta.name()), Meta, epochKey, epochKey, encodeEpoch(e))
	})
	if err == nil && s.opts.NoSync {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("store: record a new epoch: %w", err)
	}
	s.epoch = e
	return nil
}

// Rewound reports whether Open found the database file older than its
// directory had seen and gave the store a new epoch (see seen.go).
func (s *Store) Rewound() bool { return s.rewound }

// noteCommit records, after a commit, that the database reached txid. A
// failure to write is logged once and otherwise ignored: the seen file is
// a check on restored copies, not part of any write's durability.
func (s *Store) noteCommit(txid uint64) {
	if s.seen == nil {
		return
	}
	if err := s.seen.record(seen{epoch: s.epoch, txid: txid}, false); err != nil && !s.seenFailed {
		s.seenFailed = true
		s.opts.Logger.Warn("store: cannot record the last commit; a restored copy of the database file may go unnoticed", "err", err)
	}
}

// closeSeen records the database's last transaction, synced, and closes the
// seen file.
func (s *Store) closeSeen() error {
	if s.seen == nil {
		return nil
	}
	txid, err := lastTx(s.db)
	if err == nil {
		err = s.seen.record(seen{epoch: s.epoch, txid: txid}, true)
	}
	return errors.Join(err, s.seen.close())
}
