package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/ringsync/swim"
)

// Failure detection among storage nodes (ringsync/swim): every message of
// the protocol (ping, ping-req, ack, nack, gossip) travels as one one-way
// request,
//
//	Swim → Ack   one swim.Msg; the Ack says only that it arrived
//
// and the protocol's own answers (a ping's ack) are Swim requests the other
// way. The sender is the peer's node certificate, never a field of the
// message. Only node certificates may send it.

// MaxSwimUpdates is the most member updates one Swim may carry: well over
// swim.Config.MaxPiggyback's default, and the receiver reads no more than
// its own MaxPiggyback of them.
const MaxSwimUpdates = 64

// swimFields and swimUpdateFields are the array lengths of a Swim and of one
// of its updates.
const (
	swimFields       = 4
	swimUpdateFields = 4
)

// Swim carries one failure-detector message. It encodes as the array
// [kind, seq, target, updates], each update as [node, incarnation, state,
// from], node ids as strings of at most ring.MaxIDLen bytes. Decoding
// refuses more than MaxSwimUpdates updates, or a longer id, before
// allocating; it leaves the kinds and states to the receiver's core (which
// ignores what it does not know). No updates decode as nil.
type Swim struct {
	Msg swim.Msg
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (m *Swim) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(swimFields); err != nil {
		return err
	}
	if err := e.EncodeUint8(uint8(m.Msg.Kind)); err != nil {
		return err
	}
	if err := e.EncodeUint64(m.Msg.Seq); err != nil {
		return err
	}
	if err := e.EncodeString(string(m.Msg.Target)); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(len(m.Msg.Updates)); err != nil {
		return err
	}
	for _, u := range m.Msg.Updates {
		if err := e.EncodeArrayLen(swimUpdateFields); err != nil {
			return err
		}
		if err := e.EncodeString(string(u.Node)); err != nil {
			return err
		}
		if err := e.EncodeUint64(u.Incarnation); err != nil {
			return err
		}
		if err := e.EncodeUint8(uint8(u.State)); err != nil {
			return err
		}
		if err := e.EncodeString(string(u.From)); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (m *Swim) DecodeMsgpack(d *msgpack.Decoder) error {
	*m = Swim{}
	if n, err := d.DecodeArrayLen(); err != nil || n != swimFields {
		return fmt.Errorf("%w: swim: want %d fields, found %d (%v)", ErrBadRequest, swimFields, n, err)
	}
	kind, err := d.DecodeUint8()
	if err != nil {
		return fmt.Errorf("%w: swim kind: %w", ErrBadRequest, err)
	}
	seq, err := d.DecodeUint64()
	if err != nil {
		return fmt.Errorf("%w: swim seq: %w", ErrBadRequest, err)
	}
	target, err := swimID(d, "swim target")
	if err != nil {
		return err
	}
	n, err := exchangeList(d, "swim updates", MaxSwimUpdates)
	if err != nil {
		return err
	}
	var ups []swim.Update
	if n > 0 {
		ups = make([]swim.Update, n)
	}
	for i := range ups {
		if err := swimUpdate(d, &ups[i]); err != nil {
			return fmt.Errorf("swim update %d: %w", i, err)
		}
	}
	m.Msg = swim.Msg{Kind: swim.Kind(kind), Seq: seq, Target: target, Updates: ups}
	return nil
}

// swimUpdate decodes one update into u.
func swimUpdate(d *msgpack.Decoder, u *swim.Update) error {
	if n, err := d.DecodeArrayLen(); err != nil || n != swimUpdateFields {
		return fmt.Errorf("%w: want %d fields, found %d (%v)", ErrBadRequest, swimUpdateFields, n, err)
	}
	var err error
	if u.Node, err = swimID(d, "node"); err != nil {
		return err
	}
	if u.Incarnation, err = d.DecodeUint64(); err != nil {
		return fmt.Errorf("%w: incarnation: %w", ErrBadRequest, err)
	}
	st, err := d.DecodeUint8()
	if err != nil {
		return fmt.Errorf("%w: state: %w", ErrBadRequest, err)
	}
	u.State = swim.State(st)
	if u.From, err = swimID(d, "from"); err != nil {
		return err
	}
	return nil
}

// swimID reads a node id: a string of at most ring.MaxIDLen bytes (empty
// allowed), its length checked before anything is allocated.
func swimID(d *msgpack.Decoder, what string) (ring.NodeID, error) {
	c, err := d.PeekCode()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBadRequest, what, err)
	}
	if !msgpcode.IsFixedString(c) && c != msgpcode.Str8 {
		return "", fmt.Errorf("%w: %s: code %#x is not a string of at most %d bytes", ErrBadRequest, what, c, ring.MaxIDLen)
	}
	s, err := d.DecodeString()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBadRequest, what, err)
	}
	if len(s) > ring.MaxIDLen {
		return "", fmt.Errorf("%w: %s: %d bytes, limit %d", ErrTooLarge, what, len(s), ring.MaxIDLen)
	}
	return ring.NodeID(s), nil
}
