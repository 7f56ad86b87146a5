// Command ringkv is the single ringkv binary: a node (serve) and the client
// and admin commands. See `ringkv --help`.
package main

import (
	"context"
	"os"

	"github.com/ringkv/ringkv/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
