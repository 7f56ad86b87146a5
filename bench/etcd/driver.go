package main

import (
	"context"
	"encoding/binary"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdDriver runs bench workloads against etcd. Reads are etcd's default,
// linearizable (a quorum read through the leader), the closest match to
// ringkv's r=2; every write is a Raft commit, fsynced on a majority.
type etcdDriver struct {
	c *clientv3.Client
}

func newEtcdDriver(endpoints []string) (*etcdDriver, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5e9})
	if err != nil {
		return nil, err
	}
	return &etcdDriver{c: c}, nil
}

// Get returns the key's mod revision as the token.
func (d *etcdDriver) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	resp, err := d.c.Get(ctx, string(key))
	if err != nil {
		return nil, false, err
	}
	if len(resp.Kvs) == 0 {
		return nil, false, nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(resp.Kvs[0].ModRevision)), true, nil
}

// Put writes unconditionally, token or not: ringkv never refuses a write
// from a stale read either (it keeps both as siblings), so a
// compare-and-swap here would measure retries instead of writes.
func (d *etcdDriver) Put(ctx context.Context, key, value, _ []byte) error {
	_, err := d.c.Put(ctx, string(key), string(value))
	return err
}

func (d *etcdDriver) Close() error { return d.c.Close() }
