// Package verify is `ringkv verify`: a Jepsen-style set-full workload run
// against a cluster while a nemesis injects faults, then a check of what
// survived.
//
// Writers add unique elements to a few set-valued keys by read, union of
// the siblings, add, write back with the read's context; other keys are
// deleted with the read's context and created again, so tombstones and
// reaping are exercised. Every operation is recorded (history.go). After
// the run every fault is healed, the cluster is given time to converge
// (no hints waiting, every partition exchanged since the heal, every key's
// replicas agreeing), and every key is read with R=N through every node.
// The checker (check.go) is pure: a history and the final reads in, a
// verdict out. Its invariants:
//
//   - an element whose write was acknowledged is in the final read, unless
//     a delete whose read saw it was not definitely refused (lost otherwise);
//   - an element that an acknowledged delete's read saw is not in the final
//     read (resurrected otherwise);
//   - after convergence, the local copies of each key on its replicas agree.
//
// The nemesis sees the cluster only through the Cluster interface, so its
// schedule is tested against an in-memory fake.
package verify
