// Command compat-go drives the official Go client (github.com/apache/rocketmq-client-go/v2)
// for the FerroMQ compatibility tests.
//
//	compat-go produce-consume -namesrv 127.0.0.1:9876 -topic T -n 20 [-timeout 90s]
//	compat-go capture -addr 127.0.0.1:9999 -topic T [-consume 4s]
//
// produce-consume sends n messages (TBW102 auto-creation on the broker), waits until the name
// server serves the topic's route, then consumes them with a push consumer from the first
// offset and checks every body, tag, key and user property. Exit 0 on success, 1 with
// "FAIL: ..." on stderr otherwise.
//
// capture sends one message (tag TagA, key KEY1, property a=1, body "hello") and runs a push
// consumer subscribed to "TagA || TagB" for a while, so that a recorder sees the Go client's
// route, send, heartbeat and pull frames.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

func main() {
	rlog.SetLogLevel("error")
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "produce-consume":
		fs := flag.NewFlagSet("produce-consume", flag.ExitOnError)
		namesrv := fs.String("namesrv", "", "name server host:port")
		topic := fs.String("topic", "", "topic")
		n := fs.Int("n", 20, "number of messages")
		timeout := fs.Duration("timeout", 90*time.Second, "overall deadline")
		_ = fs.Parse(os.Args[2:])
		if *namesrv == "" || *topic == "" {
			usage()
		}
		err = produceConsume(*namesrv, *topic, *n, time.Now().Add(*timeout))
	case "capture":
		fs := flag.NewFlagSet("capture", flag.ExitOnError)
		addr := fs.String("addr", "", "recorder host:port")
		topic := fs.String("topic", "", "topic")
		consume := fs.Duration("consume", 4*time.Second, "how long the push consumer runs")
		_ = fs.Parse(os.Args[2:])
		if *addr == "" || *topic == "" {
			usage()
		}
		err = capture(*addr, *topic, *consume)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: compat-go produce-consume -namesrv ADDR -topic T [-n N] [-timeout D]")
	fmt.Fprintln(os.Stderr, "       compat-go capture -addr ADDR -topic T [-consume D]")
	os.Exit(2)
}

type expected struct {
	tag, key, body, idx, run string
}

func produceConsume(namesrv, topic string, n int, deadline time.Time) error {
	run := strconv.FormatInt(time.Now().UnixNano(), 16)
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName("compat_go_pg_"+run),
		producer.WithInstanceName("compat-go-producer-"+run),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	want := map[string]expected{}
	for i := 0; i < n; i++ {
		e := expected{
			tag:  []string{"TagA", "TagB"}[i%2],
			key:  fmt.Sprintf("GOKEY-%s-%d", run, i),
			body: fmt.Sprintf("go compat body #%d run %s \u00fc\u20ac\u4e2d", i, run),
			idx:  strconv.Itoa(i),
			run:  run,
		}
		msg := primitive.NewMessage(topic, []byte(e.body))
		msg.WithTag(e.tag)
		msg.WithKeys([]string{e.key})
		msg.WithProperty("idx", e.idx)
		msg.WithProperty("run", e.run)
		res, err := p.SendSync(context.Background(), msg)
		if err != nil {
			_ = p.Shutdown()
			return fmt.Errorf("send #%d: %w", i, err)
		}
		if res.Status != primitive.SendOK {
			_ = p.Shutdown()
			return fmt.Errorf("send #%d: status %v", i, res.Status)
		}
		want[e.key] = e
	}
	_ = p.Shutdown()
	fmt.Printf("sent %d messages\n", n)

	// The topic was auto-created by the broker on the first send; wait until the name server
	// serves its route so the consumer finds it at start.
	if err := waitForRoute(namesrv, topic, deadline); err != nil {
		return err
	}

	var mu sync.Mutex
	got := map[string]bool{}
	var problems []string
	done := make(chan struct{})
	var doneOnce sync.Once

	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName("compat_go_cg_"+run),
		consumer.WithInstance("compat-go-consumer-"+run),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		return fmt.Errorf("new consumer: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"}
	err = c.Subscribe(topic, selector, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			key := m.GetKeys()
			e, ok := want[key]
			if !ok {
				problems = append(problems, fmt.Sprintf("unexpected message keys=%q body=%q", key, m.Body))
				continue
			}
			var bad []string
			if m.Topic != topic {
				bad = append(bad, "topic "+m.Topic)
			}
			if string(m.Body) != e.body {
				bad = append(bad, fmt.Sprintf("body %q", m.Body))
			}
			if m.GetTags() != e.tag {
				bad = append(bad, "tag "+m.GetTags())
			}
			if m.GetProperty("idx") != e.idx {
				bad = append(bad, "idx "+m.GetProperty("idx"))
			}
			if m.GetProperty("run") != e.run {
				bad = append(bad, "run "+m.GetProperty("run"))
			}
			if m.MsgId == "" {
				bad = append(bad, "no msgId")
			}
			if len(bad) > 0 {
				problems = append(problems, fmt.Sprintf("key %s: %v", key, bad))
			}
			if got[key] {
				problems = append(problems, "duplicate delivery of key "+key)
			}
			got[key] = true
		}
		if len(problems) > 0 || len(got) == len(want) {
			doneOnce.Do(func() { close(done) })
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start consumer: %w", err)
	}
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
	}
	_ = c.Shutdown()

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		return fmt.Errorf("%d bad message(s): %v", len(problems), problems)
	}
	if len(got) != len(want) {
		var missing []string
		for k := range want {
			if !got[k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		return fmt.Errorf("timeout: received %d of %d messages; missing keys %v", len(got), len(want), missing)
	}
	fmt.Printf("OK: received all %d messages intact\n", n)
	return nil
}

func waitForRoute(namesrv, topic string, deadline time.Time) error {
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{namesrv})))
	if err != nil {
		return fmt.Errorf("new admin: %w", err)
	}
	defer adm.Close()
	var last error
	for time.Now().Before(deadline) {
		queues, err := adm.FetchPublishMessageQueues(context.Background(), topic)
		if err == nil && len(queues) > 0 {
			fmt.Printf("route for %s: %d queues\n", topic, len(queues))
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	return fmt.Errorf("name server never served a route for %s: %v", topic, last)
}

func capture(addr, topic string, consume time.Duration) error {
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{addr}),
		producer.WithGroupName("capture_go_pg"),
		producer.WithInstanceName("capture-go-producer"),
		producer.WithRetry(0),
	)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	msg := primitive.NewMessage(topic, []byte("hello"))
	msg.WithTag("TagA")
	msg.WithKeys([]string{"KEY1"})
	msg.WithProperty("a", "1")
	res, err := p.SendSync(context.Background(), msg)
	_ = p.Shutdown()
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	fmt.Printf("single: %v\n", res)

	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{addr}),
		consumer.WithGroupName("capture_go_cg"),
		consumer.WithInstance("capture-go-consumer"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		return fmt.Errorf("new consumer: %w", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"}
	err = c.Subscribe(topic, selector, func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start consumer: %w", err)
	}
	time.Sleep(consume) // capture window, not a synchronisation
	return c.Shutdown()
}
