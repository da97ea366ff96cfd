package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shoalkv/shoal/driver"
)

// statusTimeout bounds the status calls behind the anti-entropy report.
const statusTimeout = 5 * time.Second

// antiEntropyReport says what each node's anti-entropy did since it started
// (the load phase included): exchanges run and failed, keys repaired and the
// last full cycle's duration; and its writes and the durable commits that
// carried them (group commit: fewer commits per write is cheaper), from each
// node's status. A node that does not answer is named as such.
func antiEntropyReport(ctx context.Context, c *driver.Client) string {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	return aeLine(c.Status(ctx))
}

// aeLine renders the anti-entropy figures of sts on one line.
func aeLine(sts []driver.NodeStatus) string {
	var parts []string
	for _, s := range sts {
		if s.Err != nil {
			parts = append(parts, fmt.Sprintf("%s no status (%v)", s.Node.ID, s.Err))
			continue
		}
		i := s.Info
		last := "no full cycle yet"
		if i.AELastCycleMS > 0 {
			last = fmt.Sprintf("last cycle %v", time.Duration(i.AELastCycleMS)*time.Millisecond)
		}
		parts = append(parts, fmt.Sprintf("%s %d exchanges (%d failed), %d keys repaired, %s; %d writes in %d commits",
			s.Node.ID, i.AEPartitions, i.AEFailed, i.AEKeysRepaired, last, i.Writes, i.Commits))
	}
	return "anti-entropy and commits since the nodes started: " + strings.Join(parts, "; ")
}
