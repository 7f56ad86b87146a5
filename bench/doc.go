// Package bench is a YCSB-style load generator for key-value stores: the
// core workloads A, B, C, D and F plus W (write only), YCSB property files,
// closed-loop and open-loop load, and latency recorded in HdrHistograms.
//
// A store is reached through a Driver (Get, Put, Close). NewRingkv is the
// driver for ringkv; other stores plug in from their own modules, which is
// why this package imports only the ringkv client, hdrhistogram-go and the
// standard library.
//
// Invariants:
//   - Key choice follows YCSB's CoreWorkload: keys are "user" followed by
//     the FNV-64 hash of the record number; zipfian is YCSB's
//     ScrambledZipfianGenerator (constant 0.99 over 10^10 items, hashed onto
//     the records); latest is its SkewedLatestGenerator over the inserts
//     acknowledged so far.
//   - Only successful operations are timed. A failed one is counted as an
//     error of its type and its latency is not recorded.
//   - In the open loop, operation i is due at start + i/rate and its latency
//     runs from that intended start, so time spent waiting for a free worker
//     counts (no coordinated omission). Operations still unsent when the
//     duration ends are reported as missed, never silently dropped.
//   - Every driver call has its own deadline (Options.Timeout).
package bench
