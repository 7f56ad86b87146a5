// Package wire describes ringkv's two batched streams for opstream: the
// replica stream between nodes and the pipelined KV stream from clients.
// Sender and server share these definitions, so both ends cut batches and
// carry ids and deadlines the same way.
package wire

import (
	"errors"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
)

// Replica is ReplicaService.Stream.
var Replica = &opstream.Protocol[ringkvv1.ReplicaBatch, ringkvv1.ReplicaOp, ringkvv1.ReplicaResults, ringkvv1.ReplicaResult]{
	Name:      "replica stream",
	NewBatch:  func(ops []*ringkvv1.ReplicaOp) *ringkvv1.ReplicaBatch { return &ringkvv1.ReplicaBatch{Ops: ops} },
	Ops:       (*ringkvv1.ReplicaBatch).GetOps,
	SetHeader: func(op *ringkvv1.ReplicaOp, id uint64, us int64) { op.Id, op.TimeoutUs = id, us },
	Header:    func(op *ringkvv1.ReplicaOp) (uint64, int64) { return op.GetId(), op.GetTimeoutUs() },
	OpSize:    func(op *ringkvv1.ReplicaOp) int { return opOverhead + len(op.GetKey()) + len(op.GetSet()) },
	NewResults: func(rs []*ringkvv1.ReplicaResult) *ringkvv1.ReplicaResults {
		return &ringkvv1.ReplicaResults{Results: rs}
	},
	Results:     (*ringkvv1.ReplicaResults).GetResults,
	SetResultID: func(r *ringkvv1.ReplicaResult, id uint64) { r.Id = id },
	ResultID:    (*ringkvv1.ReplicaResult).GetId,
	ResultSize:  func(r *ringkvv1.ReplicaResult) int { return opOverhead + len(r.GetSet()) },
}

// KV is KVService.Stream.
var KV = &opstream.Protocol[ringkvv1.KVBatch, ringkvv1.KVOp, ringkvv1.KVResults, ringkvv1.KVResult]{
	Name: "kv stream",
	// A client request takes a quorum round trip, several times a replica
	// operation, so more batches may wait for a first answer before new
	// requests queue: at moderate load this kept the open-loop p99 at
	// 12–20 ms where a window of 2 let it reach 20–43 ms.
	Window:      8,
	NewBatch:    func(ops []*ringkvv1.KVOp) *ringkvv1.KVBatch { return &ringkvv1.KVBatch{Ops: ops} },
	Ops:         (*ringkvv1.KVBatch).GetOps,
	SetHeader:   func(op *ringkvv1.KVOp, id uint64, us int64) { op.Id, op.TimeoutUs = id, us },
	Header:      func(op *ringkvv1.KVOp) (uint64, int64) { return op.GetId(), op.GetTimeoutUs() },
	OpSize:      kvOpSize,
	NewResults:  func(rs []*ringkvv1.KVResult) *ringkvv1.KVResults { return &ringkvv1.KVResults{Results: rs} },
	Results:     (*ringkvv1.KVResults).GetResults,
	SetResultID: func(r *ringkvv1.KVResult, id uint64) { r.Id = id },
	ResultID:    (*ringkvv1.KVResult).GetId,
	ResultSize:  kvResultSize,
}

// opOverhead is a generous bound on an operation's or result's framing
// (ids, tags, lengths), counted so that a batch of many tiny operations is
// cut well inside the receiver's read limit too.
const opOverhead = 48

func kvOpSize(op *ringkvv1.KVOp) int {
	n := opOverhead
	switch r := op.GetRequest().(type) {
	case *ringkvv1.KVOp_Get:
		n += len(r.Get.GetKey())
	case *ringkvv1.KVOp_Put:
		n += len(r.Put.GetKey()) + len(r.Put.GetValue()) + len(r.Put.GetContext())
	case *ringkvv1.KVOp_Delete:
		n += len(r.Delete.GetKey()) + len(r.Delete.GetContext())
	}
	return n
}

func kvResultSize(r *ringkvv1.KVResult) int {
	n := opOverhead + len(r.GetError())
	if g := r.GetGet(); g != nil {
		n += len(g.GetContext())
		for _, v := range g.GetValues() {
			n += opOverhead + len(v)
		}
	}
	return n + len(r.GetPut().GetContext()) + len(r.GetDelete().GetContext())
}

// Fail sets a result's code and message from err.
func Fail(code *uint32, msg *string, err error) {
	*code = uint32(connect.CodeOf(err))
	*msg = err.Error()
	var ce *connect.Error
	if errors.As(err, &ce) {
		*msg = ce.Message() // the code travels apart; do not repeat it
	}
}

// Err is the error a result's code and message stand for (nil for code 0).
func Err(code uint32, msg string) error {
	if code == 0 {
		return nil
	}
	return connect.NewError(connect.Code(code), errors.New(msg))
}
