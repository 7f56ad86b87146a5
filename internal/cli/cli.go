// Package cli is ringkv's command line: flags in, library calls, printing
// out. It lives outside cmd/ringkv so tests can run every command in
// process against a real cluster.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
)

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Main runs the ringkv command line with args (without the program name)
// and returns the process exit status.
func Main(ctx context.Context, args []string, stdio IO) int {
	root := newRoot(stdio)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "ringkv: %s\n", describe(err))
		return 1
	}
	return 0
}

// describe prints a Connect error as its message with the code, which is
// what a person needs; other errors as they are.
func describe(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s (%s)", ce.Message(), ce.Code())
	}
	return err.Error()
}

func newRoot(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "ringkv",
		Short: "ringkv is a Dynamo-style leaderless key-value store",
		Long: `ringkv is a Dynamo-style leaderless key-value store: every key lives on N
replicas chosen by a consistent-hash ring, every request picks its own R or W,
and concurrent writes are kept as siblings under dotted version vectors.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServe(stdio), newGet(stdio), newPut(stdio), newDel(stdio), newStatus(stdio), newRing(stdio), newDev(stdio))
	root.AddCommand(newBench(stdio), newVerify(stdio))
	root.AddCommand(newTransfers(stdio))
	return root
}

// defaultAddr is $RINGKV_ADDR, else node 1 of the local cluster.
func defaultAddr() string {
	if a := os.Getenv("RINGKV_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:7070"
}
