// Command etcdbench runs ringkv's bench workloads against an etcd cluster,
// measured exactly as `ringkv bench` measures ringkv (same generators,
// load models, histograms and reports). It is its own module so etcd's
// client never enters the ringkv binary. See bench/README.md.
//
//	go run ./bench/etcd --endpoints 127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 --workload a --clients 64
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ringkv/ringkv/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "etcdbench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	endpoints := flag.String("endpoints", "127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793", "etcd client endpoints, comma-separated")
	workload := flag.String("workload", "a", "workload: a, b, c, d, f or w")
	records := flag.Int64("records", bench.DefaultRecords, "records to load and to operate on")
	operations := flag.Int64("operations", 0, "operations to run (0: run for --duration)")
	duration := flag.Duration("duration", bench.DefaultDuration, "how long to run")
	valueSize := flag.Int("value-size", bench.DefaultValueSize, "bytes per value")
	distribution := flag.String("distribution", "", "uniform, zipfian or latest (default: the workload's)")
	clients := flag.Int("clients", bench.DefaultClients, "concurrent clients (open loop: most operations in flight)")
	rate := flag.Float64("rate", 0, "open loop at this many operations per second (0: closed loop)")
	timeout := flag.Duration("timeout", bench.DefaultTimeout, "deadline of every request")
	skipLoad := flag.Bool("skip-load", false, "skip the load phase")
	asJSON := flag.Bool("json", false, "print one JSON object")
	html := flag.String("html", "", "also write an HTML report to this file")
	flag.Parse()

	w, err := bench.Preset(*workload)
	if err != nil {
		return err
	}
	if *distribution != "" {
		if w.Distribution, err = bench.ParseDistribution(*distribution); err != nil {
			return err
		}
	}
	opts := bench.Options{Workload: w, Records: *records, Operations: *operations, Duration: *duration,
		ValueSize: *valueSize, Clients: *clients, Rate: *rate, Timeout: *timeout, SkipLoad: *skipLoad,
		Target: "etcd at " + *endpoints}
	if err := opts.Validate(); err != nil {
		return err
	}
	d, err := newEtcdDriver(strings.Split(*endpoints, ","))
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, d, opts)
	if err != nil {
		return err
	}
	if *html != "" {
		f, err := os.Create(*html)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := res.WriteHTML(f); err != nil {
			return err
		}
	}
	if *asJSON {
		return res.WriteJSON(os.Stdout)
	}
	return res.WriteText(os.Stdout)
}
