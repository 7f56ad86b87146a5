package client

import (
	"context"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
)

// Transfers lists the partition transfers the node sends or receives.
func (c *Client) Transfers(ctx context.Context) (*ringkvv1.TransfersResponse, error) {
	resp, err := c.admin.Transfers(ctx, connect.NewRequest(&ringkvv1.TransfersRequest{}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}
