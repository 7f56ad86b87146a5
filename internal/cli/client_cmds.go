package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringkv/ringkv/client"
)

// maxStdinValue bounds what `put KEY -` reads; the node refuses anything over
// its own (smaller, configurable) limit with a clear error.
const maxStdinValue = 64 << 20

// clientFlags are shared by every command that talks to a node.
type clientFlags struct {
	addr    string
	timeout time.Duration
	json    bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr(), "node to send the request to (host:port; default $RINGKV_ADDR, else 127.0.0.1:7070)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "deadline for the whole request, replica calls included")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object")
}

// run calls fn with a client and a context carrying the deadline.
func (f *clientFlags) run(ctx context.Context, fn func(context.Context, *client.Client) error) error {
	c := client.New(f.addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return fn(ctx, c)
}

// show is the RunE of a command that makes one call and prints its answer,
// as JSON with --json (asJSON shapes it), else as text.
func show[T any](f *clientFlags, stdio IO, call func(*client.Client, context.Context) (T, error), asJSON func(T) any,
	print func(T) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		return f.run(cmd.Context(), func(ctx context.Context, c *client.Client) error {
			resp, err := call(c, ctx)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(stdio.Out, asJSON(resp))
			}
			return print(resp)
		})
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func decodeCtx(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("--context is not base64 (pass the context a get printed): %w", err)
	}
	return b, nil
}

func encodeCtx(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func newGet(stdio IO) *cobra.Command {
	var f clientFlags
	var r int
	var contextOnly, local bool
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a key: every sibling value, one per line",
		Long: `Read a key from R replicas. Prints every sibling value, one per line, and the
causal context on stderr; pass that context to the next put or del of the key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				get := c.Get
				if local {
					get = func(ctx context.Context, key []byte, _ int) (client.GetResult, error) { return c.GetLocal(ctx, key) }
				}
				res, err := get(ctx, []byte(args[0]), r)
				if err != nil {
					return err
				}
				return printGet(stdio, f.json, contextOnly, args[0], res)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&r, "r", 0, "replicas that must reply, 1..N, at most the ring's members (default or 0: quorum, a majority of the key's replicas)")
	cmd.Flags().BoolVar(&contextOnly, "context-only", false, "print only the context (for scripts)")
	cmd.Flags().BoolVar(&local, "local", false, "read only the receiving node's own replica: no quorum, no read repair")
	return cmd
}

type getJSON struct {
	Key     string   `json:"key"`
	Found   bool     `json:"found"`
	Values  []string `json:"values"`
	Context string   `json:"context"`
	Replied []string `json:"replied"`
}

func printGet(stdio IO, asJSON, contextOnly bool, key string, res client.GetResult) error {
	switch {
	case contextOnly:
		_, err := fmt.Fprintln(stdio.Out, encodeCtx(res.Context))
		return err
	case asJSON:
		out := getJSON{Key: key, Found: res.Found, Values: make([]string, len(res.Values)),
			Context: encodeCtx(res.Context), Replied: res.Replied}
		for i, v := range res.Values {
			out.Values[i] = string(v)
		}
		return printJSON(stdio.Out, out)
	}
	for _, v := range res.Values {
		if _, err := stdio.Out.Write(append(v, '\n')); err != nil {
			return err
		}
	}
	if !res.Found {
		fmt.Fprintln(stdio.Err, "(not found)")
	}
	if len(res.Values) > 1 {
		fmt.Fprintf(stdio.Err, "(%d siblings)\n", len(res.Values))
	}
	fmt.Fprintf(stdio.Err, "context: %s\n", encodeCtx(res.Context))
	return nil
}

type hintJSON struct {
	Node string `json:"node"`
	For  string `json:"for"`
}

type writeJSON struct {
	Context string     `json:"context"`
	Acks    []string   `json:"acks"`  // replicas that stored the write
	Hints   []hintJSON `json:"hints"` // nodes that stored it as a hint for a replica
}

func printWrite(stdio IO, asJSON bool, res client.WriteResult) error {
	out := writeJSON{Context: encodeCtx(res.Context), Acks: []string{}, Hints: []hintJSON{}}
	described := make([]string, len(res.Acks))
	for i, a := range res.Acks {
		described[i] = a.Node
		if a.HintFor == "" {
			out.Acks = append(out.Acks, a.Node)
			continue
		}
		out.Hints = append(out.Hints, hintJSON{Node: a.Node, For: a.HintFor})
		described[i] = fmt.Sprintf("%s (hint for %s)", a.Node, a.HintFor)
	}
	if asJSON {
		return printJSON(stdio.Out, out)
	}
	_, err := fmt.Fprintf(stdio.Out, "ok: acknowledged by %s\ncontext: %s\n", strings.Join(described, ", "), out.Context)
	return err
}

func newPut(stdio IO) *cobra.Command {
	var f clientFlags
	var w int
	var wctx string
	cmd := &cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Write a value (VALUE - reads it from standard input)",
		Long: `Write a value under the context of an earlier get (--context). Without a
context the write is blind: it keeps every existing value as a sibling.
VALUE "-" reads the value from standard input, binary-safe.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := readValue(stdio.In, args[1])
			if err != nil {
				return err
			}
			c, err := decodeCtx(wctx)
			if err != nil {
				return err
			}
			return f.run(cmd.Context(), func(ctx context.Context, cl *client.Client) error {
				res, err := cl.Put(ctx, []byte(args[0]), value, c, w)
				if err != nil {
					return err
				}
				return printWrite(stdio, f.json, res)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&w, "w", 0, "replicas that must acknowledge durably, 1..N, at most the ring's members (default or 0: quorum, a majority of the key's replicas)")
	cmd.Flags().StringVar(&wctx, "context", "", "context from a get of this key (base64)")
	return cmd
}

func readValue(in io.Reader, arg string) ([]byte, error) {
	if arg != "-" {
		return []byte(arg), nil
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(in, maxStdinValue+1))
	if err != nil {
		return nil, fmt.Errorf("read value from stdin: %w", err)
	}
	if n > maxStdinValue {
		return nil, fmt.Errorf("value on stdin is over %d bytes", maxStdinValue)
	}
	return buf.Bytes(), nil
}

func newDel(stdio IO) *cobra.Command {
	var f clientFlags
	var w int
	var wctx string
	cmd := &cobra.Command{
		Use:   "del KEY",
		Short: "Delete a key (writes a tombstone under --context)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := decodeCtx(wctx)
			if err != nil {
				return err
			}
			return f.run(cmd.Context(), func(ctx context.Context, cl *client.Client) error {
				if c == nil {
					// Like Riak's clients: a delete without a context reads
					// first, so it removes every value that exists now (and
					// none written after).
					got, err := cl.Get(ctx, []byte(args[0]), 0)
					if err != nil {
						return fmt.Errorf("read the key's context before deleting: %w", err)
					}
					c = got.Context
				}
				res, err := cl.Delete(ctx, []byte(args[0]), c, w)
				if err != nil {
					return err
				}
				return printWrite(stdio, f.json, res)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&w, "w", 0, "replicas that must acknowledge durably, 1..N, at most the ring's members (default or 0: quorum, a majority of the key's replicas)")
	cmd.Flags().StringVar(&wctx, "context", "", "context from a get of this key (base64); without it, del reads the key first and deletes what it sees")
	return cmd
}
