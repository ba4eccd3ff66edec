// compat-go-grpc: the official Go 5.x SDK (github.com/apache/rocketmq-clients/golang/v5), which
// speaks gRPC to a proxy, driven by tests/tests/compat_grpc.rs.
//
//	compat-go-grpc send-receive <endpoint> <topic> <group> <n>
//
// A producer sends n messages (key <topic>-i, tag TagA, property idx, a UTF-8 body), then a
// simple consumer of <group> receives and acks each exactly once, checking key, tag, property and
// body. Prints "OK: send-receive: sent n received n acked n", or "FAIL: ..." and exits 1.
// The SDK always dials with TLS (certificate not verified), so the endpoint must accept TLS.
// Deadline: COMPAT_TIMEOUT_MS (default 90000).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

func main() {
	if len(os.Args) != 6 || os.Args[1] != "send-receive" {
		fmt.Fprintln(os.Stderr, "usage: compat-go-grpc send-receive <endpoint> <topic> <group> <n>")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[5])
	if err != nil {
		fail("bad n %q: %v", os.Args[5], err)
	}
	// The SDK logs to $HOME/logs/rocketmqlogs (a temp dir per run); keep stdout for results.
	rmq.ResetLogger()
	timeout := 90 * time.Second
	if ms, err := strconv.Atoi(os.Getenv("COMPAT_TIMEOUT_MS")); err == nil {
		timeout = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	summary, err := sendReceive(ctx, os.Args[2], os.Args[3], os.Args[4], n)
	if err != nil {
		fail("%v", err)
	}
	fmt.Println("OK: send-receive: " + summary)
}

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func progress(start time.Time, format string, args ...any) {
	fmt.Printf("[+%dms] %s\n", time.Since(start).Milliseconds(), fmt.Sprintf(format, args...))
}

func bodyOf(topic string, i int) string {
	return fmt.Sprintf("body-%d-\u00fc\u20ac\u4e2d-%s", i, topic)
}

// config for endpoint; the SDK signs every request and needs credentials even when the server
// has no ACL, so it gets empty ones.
func config(endpoint, group string) *rmq.Config {
	return &rmq.Config{
		Endpoint:      endpoint,
		ConsumerGroup: group,
		Credentials:   &credentials.SessionCredentials{},
	}
}

func sendReceive(ctx context.Context, endpoint, topic, group string, n int) (string, error) {
	start := time.Now()
	producer, err := rmq.NewProducer(config(endpoint, ""), rmq.WithTopics(topic))
	if err != nil {
		return "", fmt.Errorf("new producer: %w", err)
	}
	if err := producer.Start(); err != nil {
		return "", fmt.Errorf("producer start: %w", err)
	}
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		msg := &rmq.Message{Topic: topic, Body: []byte(bodyOf(topic, i))}
		msg.SetKeys(fmt.Sprintf("%s-%d", topic, i))
		msg.SetTag("TagA")
		msg.AddProperty("idx", strconv.Itoa(i))
		receipts, err := producer.Send(ctx, msg)
		if err != nil {
			_ = producer.GracefulStop()
			return "", fmt.Errorf("send #%d: %w", i, err)
		}
		if len(receipts) != 1 || ids[receipts[0].MessageID] {
			_ = producer.GracefulStop()
			return "", fmt.Errorf("send #%d: receipts %v", i, receipts)
		}
		ids[receipts[0].MessageID] = true
	}
	_ = producer.GracefulStop()
	progress(start, "sent %d", n)

	consumer, err := rmq.NewSimpleConsumer(config(endpoint, group),
		// Apache's proxy long-polls at least 5 s and refuses a receive whose deadline (the await
		// duration plus the SDK's 3 s request timeout) leaves less than that.
		rmq.WithAwaitDuration(5*time.Second),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}))
	if err != nil {
		return "", fmt.Errorf("new simple consumer: %w", err)
	}
	if err := consumer.Start(); err != nil {
		return "", fmt.Errorf("simple consumer start: %w", err)
	}
	defer func() { _ = consumer.GracefulStop() }()
	seen := map[int]bool{}
	acked := 0
	for len(seen) < n {
		if ctx.Err() != nil {
			return "", fmt.Errorf("deadline: received %d of %d", len(seen), n)
		}
		views, err := consumer.Receive(ctx, 16, 30*time.Second)
		if err != nil {
			// No message before the long poll ended is an error to this SDK, and so is a receive
			// before the server has the consumer's settings (right after Start).
			progress(start, "receive: %v", err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, v := range views {
			i, err := check(topic, v)
			if err != nil {
				return "", err
			}
			if seen[i] {
				return "", fmt.Errorf("idx %d delivered twice", i)
			}
			seen[i] = true
			if err := consumer.Ack(ctx, v); err != nil {
				return "", fmt.Errorf("ack idx %d: %w", i, err)
			}
			acked++
		}
	}
	return fmt.Sprintf("sent %d received %d acked %d", n, len(seen), acked), nil
}

func check(topic string, v *rmq.MessageView) (int, error) {
	i, err := strconv.Atoi(v.GetProperties()["idx"])
	if err != nil {
		return 0, fmt.Errorf("message %s: idx property %q", v.GetMessageId(), v.GetProperties()["idx"])
	}
	key := fmt.Sprintf("%s-%d", topic, i)
	if keys := v.GetKeys(); len(keys) != 1 || keys[0] != key {
		return 0, fmt.Errorf("idx %d: keys %v", i, keys)
	}
	if tag := v.GetTag(); tag == nil || *tag != "TagA" {
		return 0, fmt.Errorf("idx %d: tag %v", i, tag)
	}
	if string(v.GetBody()) != bodyOf(topic, i) {
		return 0, fmt.Errorf("idx %d: body %q", i, v.GetBody())
	}
	if v.GetTopic() != topic {
		return 0, fmt.Errorf("idx %d: topic %q", i, v.GetTopic())
	}
	return i, nil
}
