// Command shoal is the Shoal client and admin tool.
//
//	shoal dev                 run a local 3-node cluster (Ctrl-C stops it)
//	shoal put KEY VALUE       write (superseding what is there)
//	shoal get KEY             print every sibling value, one per line
//	shoal del KEY             delete
//	shoal status              what each node reports, and what the driver believes
//	shoal ring                the partition ring
//	shoal repair              a full anti-entropy exchange now, with progress
//	shoal certs               make a cluster CA and certificates
//
// Client commands find the dev cluster started by 'shoal dev' with no flags;
// --seeds and the TLS flags (or SHOAL_* environment variables) point them
// elsewhere.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

const usage = `shoal is the Shoal client and admin tool.

Usage:
  shoal dev [flags]            run a local cluster until Ctrl-C (data kept in --dir)
  shoal put KEY VALUE [flags]  write VALUE under KEY, superseding what is there
  shoal get KEY [flags]        print KEY's values, one sibling per line
  shoal del KEY [flags]        delete KEY
  shoal status [flags]         node reports and the driver's failure-detector view
  shoal ring [flags]           ring version, partitions and ownership
  shoal repair [flags]         a full anti-entropy exchange now (--node N, --partition P)
  shoal certs [flags]          make a cluster CA, node and client certificates

Run 'shoal COMMAND --help' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"dev": runDev, "put": runPut, "get": runGet, "del": runDel,
		"status": runStatus, "ring": runRing, "certs": runCerts, "repair": runRepair,
	}
	name, args := os.Args[1], os.Args[2:]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Print(usage)
		return
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "shoal: unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
	if code := exitStatus(name, cmd(args), os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitStatus is the exit status of command name that returned err: 0 for
// none or a --help, an exitCode's own (its message already printed),
// else 1, after printing err to w.
func exitStatus(name string, err error, w io.Writer) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	fmt.Fprintf(w, "shoal %s: %v\n", name, err)
	return 1
}

// exitCode ends the program with a status and no message (already printed).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }
