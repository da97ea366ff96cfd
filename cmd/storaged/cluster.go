package main

import (
	"fmt"
	"strings"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// parseCluster parses "id=host:port,id=host:port".
func parseCluster(s string) ([]ring.Node, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty member list")
	}
	var nodes []ring.Node
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("member %q is not id=host:port", part)
		}
		nodes = append(nodes, ring.Node{ID: ring.NodeID(id), Addr: addr})
	}
	return nodes, nil
}
