package wire_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// The messages as they were before their node ids became ring.NodeID: the
// same fields in the same order, with every id a plain string.
type (
	plainHelloOK struct {
		_msgpack  struct{} `msgpack:",as_array"`
		Version   uint32
		ClusterID string
		Node      string
	}
	plainCoordinate struct {
		_msgpack  struct{} `msgpack:",as_array"`
		Key       []byte
		Value     []byte
		Tombstone bool
		Context   dvv.VV
		HintFor   string
	}
	plainReplicate struct {
		_msgpack struct{} `msgpack:",as_array"`
		Key      []byte
		Object   dvv.Set
		HintFor  string
	}
	plainHintOwner struct {
		_msgpack struct{} `msgpack:",as_array"`
		Owner    string
		Keys     uint64
		Bytes    uint64
		OldestMS int64
	}
	plainStatusOK struct {
		_msgpack       struct{} `msgpack:",as_array"`
		Node           string
		Addr           string
		Epoch          uint64
		RingVersion    uint64
		Objects        uint64
		Hints          uint64
		UptimeMS       uint64
		Commits        uint64
		Writes         uint64
		HintOwners     []plainHintOwner
		HintsDelivered uint64
		HintsRefused   uint64
		HintsKept      uint64
		HintsCorrected uint64
		// Fields added after the ids were typed (issue 9); no ids in them.
		Transport                                                     wire.Stats
		RefusedConflict, RefusedClaim, RefusedNonMember, RefusedLimit uint64
		CorruptReads, CorruptRecords                                  uint64
		Quarantined                                                   string
		// Issue 10's hash tree counters.
		Trees, TreeKeys, TreeRebuildMS, TreeMismatches uint64
		// Issue 10's anti-entropy counters.
		AEPartitions, AEKeysRepaired, AELastCycleMS, AEFailed uint64
		// Issue 10's rebuild count and latest repair (its failures name
		// peers).
		TreesRebuilding uint64
		Repair          plainRepairProgress
		// Issue 10's retained hint records.
		HintsRetained, HintsRetainedBytes uint64
		// Issue 11's cluster state and gossip figures.
		Cluster                                   wire.GossipDigest
		ClusterMembers, ClusterRecords            uint64
		GossipRounds, GossipFailed, GossipRefused uint64
		Swim                                      []plainSwimMember
		SwimHealth                                uint64
	}
	plainSwimMember struct {
		_msgpack    struct{} `msgpack:",as_array"`
		Node        string
		State       string
		Incarnation uint64
		SinceMS     int64
	}
	plainRepairProgress struct {
		_msgpack                   struct{} `msgpack:",as_array"`
		ID                         uint64
		Running                    bool
		Partitions, PartitionsDone uint32
		Exchanges, Failed          uint64
		KeysRepaired               uint64
		StartedMS                  int64
		TookMS                     uint64
		Failures                   []plainRepairFailure
	}
	plainRepairFailure struct {
		_msgpack  struct{} `msgpack:",as_array"`
		Partition uint32
		Peer      string
		Error     string
	}
)

// TestTypedNodeIDsKeepTheWireFormat: a message whose node ids are
// ring.NodeID encodes to exactly the bytes of the same message with plain
// string ids, and those bytes decode back to it, so typing the ids changed
// no byte on the wire.
func TestTypedNodeIDsKeepTheWireFormat(t *testing.T) {
	a := dvv.Actor{Node: "n1", Epoch: 0x1234}
	obj, _ := dvv.Set{}.Update(a, nil, []byte("v"), false)
	for _, tc := range []struct {
		name         string
		typed, plain any
	}{
		{
			"hello-ok",
			&wire.HelloOK{Version: wire.ProtocolVersion, ClusterID: "shoal", Node: "n1"},
			&plainHelloOK{Version: wire.ProtocolVersion, ClusterID: "shoal", Node: "n1"},
		},
		{
			"coordinate",
			&wire.Coordinate{Key: []byte("k"), Value: []byte("v"), Context: obj.VV, HintFor: "n2"},
			&plainCoordinate{Key: []byte("k"), Value: []byte("v"), Context: obj.VV, HintFor: "n2"},
		},
		{
			"coordinate without hint",
			&wire.Coordinate{Key: []byte("k"), Tombstone: true},
			&plainCoordinate{Key: []byte("k"), Tombstone: true},
		},
		{
			"replicate",
			&wire.Replicate{Key: []byte("k"), Object: obj, HintFor: "n3"},
			&plainReplicate{Key: []byte("k"), Object: obj, HintFor: "n3"},
		},
		{
			"status-ok",
			&wire.StatusOK{
				Node: "n1", Addr: "127.0.0.1:7001", Epoch: 1 << 60, RingVersion: 3, Objects: 10, Hints: 3,
				HintOwners:     []wire.HintOwner{{Owner: "n2", Keys: 2, Bytes: 300, OldestMS: 1}, {Owner: "é", Keys: 1}},
				HintsDelivered: 4, HintsRefused: 5, HintsKept: 6, HintsCorrected: 7,
				Repair: wire.RepairProgress{ID: 9, Partitions: 2, Failures: wire.RepairFailures{{Partition: 1, Peer: "n3", Error: "e"}}},
			},
			&plainStatusOK{
				Node: "n1", Addr: "127.0.0.1:7001", Epoch: 1 << 60, RingVersion: 3, Objects: 10, Hints: 3,
				HintOwners:     []plainHintOwner{{Owner: "n2", Keys: 2, Bytes: 300, OldestMS: 1}, {Owner: "é", Keys: 1}},
				HintsDelivered: 4, HintsRefused: 5, HintsKept: 6, HintsCorrected: 7,
				Repair: plainRepairProgress{ID: 9, Partitions: 2, Failures: []plainRepairFailure{{Partition: 1, Peer: "n3", Error: "e"}}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wire.Encode(tc.typed)
			if err != nil {
				t.Fatal(err)
			}
			want, err := wire.Encode(tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("typed ids encode to\n%x\nplain strings to\n%x", got, want)
			}
			back := reflect.New(reflect.TypeOf(tc.typed).Elem()).Interface()
			if err := wire.Decode(want, back); err != nil {
				t.Fatalf("decode the plain encoding: %v", err)
			}
			if !reflect.DeepEqual(back, tc.typed) {
				t.Errorf("plain encoding decodes to %+v, want %+v", back, tc.typed)
			}
		})
	}
}

// TestTypedNodeIDGolden pins the bytes of messages carrying node ids to
// what they encoded to while the ids were plain strings (recorded from the
// code before the change): each id is a msgpack str (a2 "n1", a2 "n2", a2
// c3a9 "é"), as a string is.
func TestTypedNodeIDGolden(t *testing.T) {
	for _, tc := range []struct {
		msg  any
		want string
	}{
		{
			&wire.HelloOK{Version: 1, ClusterID: "shoal", Node: "n1"},
			"93" + "ce00000001" + "a573686f616c" + "a26e31",
		},
		{
			&wire.Coordinate{Key: []byte("k"), Value: []byte("v"), HintFor: "n2"},
			"95" + "c4016b" + "c40176" + "c2" + "c0" + "a26e32",
		},
		{
			&wire.StatusOK{
				Node: "n1", Addr: "127.0.0.1:7001", Epoch: 1 << 60, RingVersion: 3, Objects: 10, Hints: 3,
				HintOwners: []wire.HintOwner{
					{Owner: "n2", Keys: 2, Bytes: 300, OldestMS: 1700000000000},
					{Owner: "é", Keys: 1, Bytes: 90, OldestMS: 1},
				},
				HintsDelivered: 4, HintsRefused: 5, HintsKept: 6, HintsCorrected: 7,
				Trees: 8, TreeKeys: 9, TreeRebuildMS: 10, TreeMismatches: 11,
				AEPartitions: 12, AEKeysRepaired: 13, AELastCycleMS: 14, AEFailed: 15,
				TreesRebuilding: 16,
				Repair: wire.RepairProgress{
					ID: 17, Running: true, Partitions: 18, PartitionsDone: 19, Exchanges: 20, Failed: 21,
					KeysRepaired: 22, StartedMS: 23, TookMS: 24,
					Failures: wire.RepairFailures{{Partition: 25, Peer: "n3", Error: "e"}},
				},
				HintsRetained: 26, HintsRetainedBytes: 27,
				Cluster:        wire.GossipDigest{Version: 28, Hash: wire.GossipHash{29, 15: 30}},
				ClusterMembers: 31, ClusterRecords: 32, GossipRounds: 33, GossipFailed: 34, GossipRefused: 35,
			},
			"dc002a" + "a26e31" + "ae3132372e302e302e313a37303031" +
				"cf1000000000000000" + "cf0000000000000003" + "cf000000000000000a" + "cf0000000000000003" +
				"cf0000000000000000" + "cf0000000000000000" + "cf0000000000000000" +
				"92" +
				"94" + "a26e32" + "cf0000000000000002" + "cf000000000000012c" + "d30000018bcfe56800" +
				"94" + "a2c3a9" + "cf0000000000000001" + "cf000000000000005a" + "d30000000000000001" +
				"cf0000000000000004" + "cf0000000000000005" + "cf0000000000000006" + "cf0000000000000007" +
				// issue 9's fields, all zero: Transport (12 counters), 4
				// refusal and 2 corruption counters, an empty Quarantined.
				"9c" + strings.Repeat("d30000000000000000", 2) + strings.Repeat("cf0000000000000000", 7) +
				strings.Repeat("d30000000000000000", 3) + strings.Repeat("cf0000000000000000", 6) + "a0" +
				// issue 10's tree counters, in their order.
				"cf0000000000000008" + "cf0000000000000009" + "cf000000000000000a" + "cf000000000000000b" +
				// issue 10's anti-entropy counters, in their order.
				"cf000000000000000c" + "cf000000000000000d" + "cf000000000000000e" + "cf000000000000000f" +
				// issue 10's rebuild count, then the latest repair: its
				// counters in their order and one failure, a triple with
				// the peer id a msgpack str.
				"cf0000000000000010" +
				"9a" + "cf0000000000000011" + "c3" + "ce00000012" + "ce00000013" + "cf0000000000000014" + "cf0000000000000015" +
				"cf0000000000000016" + "d30000000000000017" + "cf0000000000000018" +
				"91" + "93" + "ce00000019" + "a26e33" + "a165" +
				// issue 10's retained hint records and their bytes.
				"cf000000000000001a" + "cf000000000000001b" +
				// issue 11's cluster digest (ring version, 16-byte bin)
				// and gossip counters, in their order.
				"92" + "cf000000000000001c" + "c410" + "1d" + strings.Repeat("00", 14) + "1e" +
				"cf000000000000001f" + "cf0000000000000020" + "cf0000000000000021" + "cf0000000000000022" + "cf0000000000000023" +
				// issue 11's failure-detector view (none: nil) and health.
				"c0" + "cf0000000000000000",
		},
	} {
		got, err := wire.Encode(tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		if h := hex.EncodeToString(got); h != tc.want {
			t.Errorf("%T encodes to\n%s\nwant\n%s", tc.msg, h, tc.want)
		}
	}
}
