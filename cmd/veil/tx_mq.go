package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/mq"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
)

func init() { txCommands = append(txCommands, newTxMQCmd) }

func newTxMQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mq",
		Short: "Message queue: push a message to a topic",
	}
	push := &cobra.Command{
		Use:   "push TOPIC PAYLOAD",
		Short: "Enqueue a message on an ingress topic (a worker's, a contract's, …)",
		Long: `Enqueue PAYLOAD (text, or hex with --hex) on TOPIC from the signer's account.
Workers process their topic's messages only with proofs against headers
their light client verified, in sequence order (docs/lightclient.md). A
worker answers {"op":"ping"} on its own topic, worker/<identity hex>, with a
sync report on chain (event worker_synced with the ping's sequence).
Topics "system" and "gatekeeper" are reserved for chain modules.`,
		Example: `  veil tx mq push worker/5b68…(64 hex) '{"op":"ping"}' --from //Alice --wait`,
		Args:    cobra.ExactArgs(2),
	}
	f := addTxFlags(push)
	var isHex bool
	push.Flags().BoolVar(&isHex, "hex", false, "PAYLOAD is hex")
	push.RunE = func(cmd *cobra.Command, args []string) error {
		if err := mq.ValidateTopic(args[0]); err != nil {
			return err
		}
		payload := []byte(args[1])
		if isHex {
			b, err := hex.DecodeString(strings.TrimPrefix(args[1], "0x"))
			if err != nil {
				return fmt.Errorf("payload: %w", err)
			}
			payload = b
		}
		return f.send(cmd, &mqv1.MsgPushMessage{Topic: args[0], Payload: payload})
	}
	cmd.AddCommand(push)
	return cmd
}
