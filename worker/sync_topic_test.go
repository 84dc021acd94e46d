package worker

import (
	"strings"
	"testing"

	"github.com/veil-network/veil/chain/mq"
)

// TestContractTopicID: exactly mq.ContractTopic's form parses.
func TestContractTopicID(t *testing.T) {
	id := [32]byte{0xab, 0xcd, 0xef, 1}
	topic := mq.ContractTopic(id)
	if got, ok := contractTopicID(topic); !ok || got != id {
		t.Fatalf("contractTopicID(%q) = %x, %v", topic, got, ok)
	}
	for _, bad := range []string{
		strings.ToUpper(topic[:9]) + topic[9:],
		"contract/" + strings.ToUpper(topic[9:]),
		topic[:len(topic)-1],
		topic + "0",
		"contract/" + strings.Repeat("g", 64),
		"contracts/" + topic[9:],
		mq.TopicGatekeeper,
	} {
		if _, ok := contractTopicID(bad); ok {
			t.Errorf("contractTopicID(%q) accepted", bad)
		}
	}
}
