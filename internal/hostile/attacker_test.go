package hostile

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// stepTimeout bounds every network step of the attacker: a deadline that
// turns a hang into a failure, never a performance assertion.
const stepTimeout = 20 * time.Second

// raw is the attacker's connection: its own UDP socket on a chosen local
// IP, its own quic.Transport and one connection, and nothing of package
// wire's client side (no lanes, no limits, no reading unless asked).
type raw struct {
	Conn *quic.Conn
	tr   *quic.Transport
	udp  *net.UDPConn
}

// attackQUIC is the attacker's QUIC configuration: keep-alives on, so the
// node's idle timeout never ends a connection the attacker keeps open.
func attackQUIC() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: stepTimeout,
		MaxIdleTimeout:       30 * time.Second,
		KeepAlivePeriod:      2 * time.Second,
		MaxIncomingStreams:   1 << 16,
	}
}

// transport binds a UDP socket on localIP (any port) and wraps it in a
// quic.Transport; the caller closes both.
func transport(localIP string) (*quic.Transport, *net.UDPConn, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)})
	if err != nil {
		return nil, nil, fmt.Errorf("bind %s: %w", localIP, err)
	}
	return &quic.Transport{Conn: udp}, udp, nil
}

// dialRaw opens a connection from localIP to addr with tc; it says no hello.
func dialRaw(ctx context.Context, localIP, addr string, tc *tls.Config) (*raw, error) {
	tr, udp, err := transport(localIP)
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	c, err := tr.Dial(ctx, ua, tc, attackQUIC())
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, err
	}
	return &raw{Conn: c, tr: tr, udp: udp}, nil
}

// Close hangs up and releases the socket; it may be called more than once.
func (r *raw) Close() {
	r.Conn.CloseWithError(0, "attacker done")
	r.tr.Close()
	r.udp.Close()
}

// tlsFor is the TLS configuration of material m dialing node wantNode.
func tlsFor(m pki.Material, wantNode string) *tls.Config {
	return pki.ClientConfig(m, wire.ALPN, wantNode)
}

// ids numbers the attacker's requests.
var ids atomic.Uint64

// envelope is a fresh request id followed by frame.
func envelope(frame []byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, ids.Add(1)), frame...)
}

// frameOf encodes msg as a frame of type typ; msg must encode (a broken test
// otherwise).
func frameOf(typ wire.Type, msg any) []byte {
	body, err := wire.Encode(msg)
	if err != nil {
		panic(fmt.Sprintf("hostile: encode %T: %v", msg, err))
	}
	return wire.AppendFrame(nil, typ, body)
}

// Hello sends the connection's hello on its first stream and checks the
// answer; the stream is then ended.
func (r *raw) Hello(ctx context.Context, clusterID string) error {
	typ, body, err := r.Exchange(ctx, frameOf(wire.TypeHello, &wire.Hello{Version: wire.ProtocolVersion, ClusterID: clusterID}))
	if err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if typ != wire.TypeHelloOK {
		return fmt.Errorf("hello answered %s", describe(typ, body))
	}
	return nil
}

// Exchange opens a stream, writes one envelope holding frame, ends the send
// side and reads the one answer.
func (r *raw) Exchange(ctx context.Context, frame []byte) (wire.Type, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := r.Conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("open stream: %w", err)
	}
	defer s.CancelRead(0)
	dl, _ := ctx.Deadline()
	s.SetDeadline(dl)
	if _, err := s.Write(envelope(frame)); err != nil {
		return 0, nil, fmt.Errorf("write request: %w", err)
	}
	s.Close()
	return readAnswer(s)
}

// readAnswer reads one answer envelope from s.
func readAnswer(s io.Reader) (wire.Type, []byte, error) {
	var id [8]byte
	if _, err := io.ReadFull(s, id[:]); err != nil {
		return 0, nil, fmt.Errorf("read answer id: %w", err)
	}
	typ, body, err := wire.ReadFrame(s, wire.MaxFrame)
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return typ, body, nil
}

// Call sends msg as a request of type typ and returns the answer.
func (r *raw) Call(ctx context.Context, typ wire.Type, msg any) (wire.Type, []byte, error) {
	return r.Exchange(ctx, frameOf(typ, msg))
}

// Get reads key's object from the node this connection reaches. Found is
// false when the node holds nothing; an error answer is returned as a
// *wire.RemoteError.
func (r *raw) Get(ctx context.Context, key []byte) (wire.GetOK, error) {
	typ, body, err := r.Call(ctx, wire.TypeGet, &wire.Get{Key: key})
	if err != nil {
		return wire.GetOK{}, err
	}
	switch typ {
	case wire.TypeGetOK:
		var ok wire.GetOK
		if err := wire.Decode(body, &ok); err != nil {
			return wire.GetOK{}, fmt.Errorf("decode get answer: %w", err)
		}
		return ok, nil
	case wire.TypeError:
		var e wire.Error
		if err := wire.Decode(body, &e); err != nil {
			return wire.GetOK{}, fmt.Errorf("decode error answer: %w", err)
		}
		return wire.GetOK{}, &wire.RemoteError{Code: e.Code, Message: e.Message}
	}
	return wire.GetOK{}, fmt.Errorf("get answered %s", describe(typ, body))
}

// describe renders an answer for a failure message.
func describe(typ wire.Type, body []byte) string {
	if typ == wire.TypeError {
		var e wire.Error
		if err := wire.Decode(body, &e); err == nil {
			return fmt.Sprintf("error %s: %q", e.Code, e.Message)
		}
	}
	return fmt.Sprintf("%s (%d-byte body)", typ, len(body))
}

// refusal checks that an answer is an error answer with a non-zero code
// and returns it: the verdict every over-limit write must get.
func refusal(typ wire.Type, body []byte) (wire.Error, error) {
	var e wire.Error
	if typ != wire.TypeError {
		return e, fmt.Errorf("answered %s, want an error answer", describe(typ, body))
	}
	if err := wire.Decode(body, &e); err != nil {
		return e, fmt.Errorf("error answer does not decode: %w", err)
	}
	if e.Code == wire.CodeInvalid {
		return e, errors.New("error answer carries code 0")
	}
	return e, nil
}
