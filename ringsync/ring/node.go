package ring

import (
	"fmt"
	"net"
	"strconv"
	"unicode/utf8"
)

// validateNode checks a node's id and address against the rules documented
// on [Node]. It does no I/O: the host is not resolved.
func validateNode(n Node) error {
	switch {
	case n.ID == "":
		return fmt.Errorf("%w: empty id", ErrInvalidNode)
	case len(n.ID) > MaxIDLen:
		return fmt.Errorf("%w: id of %d bytes, at most %d", ErrInvalidNode, len(n.ID), MaxIDLen)
	case !utf8.ValidString(string(n.ID)):
		return fmt.Errorf("%w: id %q is not valid utf-8", ErrInvalidNode, n.ID)
	case n.Addr == "":
		return fmt.Errorf("%w: %q: empty address", ErrInvalidNode, n.ID)
	case len(n.Addr) > MaxAddrLen:
		return fmt.Errorf("%w: %q: address of %d bytes, at most %d", ErrInvalidNode, n.ID, len(n.Addr), MaxAddrLen)
	}
	host, port, err := net.SplitHostPort(n.Addr)
	if err != nil {
		return fmt.Errorf("%w: %q: address %q: %w", ErrInvalidNode, n.ID, n.Addr, err)
	}
	if host == "" {
		return fmt.Errorf("%w: %q: address %q has no host", ErrInvalidNode, n.ID, n.Addr)
	}
	if v, err := strconv.ParseUint(port, 10, 16); err != nil || v == 0 {
		return fmt.Errorf("%w: %q: address %q: port must be in [1, 65535]", ErrInvalidNode, n.ID, n.Addr)
	}
	return nil
}
