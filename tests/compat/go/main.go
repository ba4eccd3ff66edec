// Command compat-go drives the official Go client (github.com/apache/rocketmq-client-go/v2)
// for the FerroMQ compatibility tests.
//
//	compat-go produce-consume -namesrv 127.0.0.1:9876 -topic T -n 20 [-timeout 90s]
//	compat-go tag-filter -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T -n 5 [-timeout 90s]
//	compat-go async-group -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T -n 16 [-timeout 90s]
//	compat-go ordered -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T -n 30 [-timeout 90s]
//	compat-go delayed -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T -n 2 [-timeout 90s]
//	compat-go transaction -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T [-timeout 90s]
//	compat-go sql-filter -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -topic T [-timeout 90s]
//	compat-go capture -addr 127.0.0.1:9999 -topic T [-consume 4s]
//
// produce-consume sends n messages (TBW102 auto-creation on the broker), waits until the name
// server serves the topic's route, then consumes them with a push consumer from the first
// offset and checks every body, tag, key and user property. Exit 0 on success, 1 with
// "FAIL: ..." on stderr otherwise.
//
// tag-filter creates a one-queue topic on the broker, sends n messages each with tags A, B and C
// (interleaved) and a final C sentinel; a push consumer subscribed to "A || C" must receive
// exactly the A and C ones, intact.
//
// async-group creates a four-queue topic on the broker and starts two push consumers of one
// clustering group; once probe messages show the queues settled two per member, n async sends
// (callbacks) follow: all SEND_OK, every message consumed exactly once, intact, by both members.
//
// ordered creates a four-queue topic and sends 3 sharding keys x n messages (seq 0..n-1 per key,
// interleaved) with producer.NewHashQueueSelector and msg.WithShardingKey; one orderly push
// consumer (consumer.WithConsumerOrder(true)) must receive every message once, each key from the
// one queue all its sends reported, in strictly increasing seq.
//
// delayed creates a one-queue topic, starts a push consumer (a probe message shows it pulling),
// then sends n messages with msg.WithDelayTimeLevel(2) (5 s): each is consumed once, intact, with
// the msgId of its send and no DELAY property, between 5000 and 6000 ms after its born timestamp.
//
// transaction creates a one-queue topic; a transaction producer (rocketmq.NewTransactionProducer)
// sends half messages whose local transaction answers COMMIT, ROLLBACK and UNKNOW; the check-back
// answers COMMIT for UNKNOW. A push consumer must receive COMMIT and UNKNOW once each, intact, with
// the msgId of their send and TRAN_MSG=true (as Apache delivers them), and ROLLBACK never; then a half message PROBE (UNKNOW, answered ROLLBACK
// on check-back) and, once its check-back came, a normal sentinel bound the "never" (see
// transaction). Check-backs: UNKNOW and PROBE at least once, COMMIT and ROLLBACK never.
//
// sql-filter creates a one-queue topic and sends the messages of sqlCases (user properties a and
// b); a push consumer subscribed with SQL92 "a > 5 AND b = 'x'" must receive exactly the matching
// ones, intact; the last (a = 100, b = 'x') is the sentinel.
//
// The scenarios end with one "OK: <scenario>: ..." line.
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
	"strings"
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
	case "tag-filter", "async-group", "ordered", "delayed", "transaction", "sql-filter", "broadcast":
		fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
		namesrv := fs.String("namesrv", "", "name server host:port")
		broker := fs.String("broker", "", "broker host:port (topic creation)")
		topic := fs.String("topic", "", "topic")
		n := fs.Int("n", 8, "messages per tag / per round")
		timeout := fs.Duration("timeout", 90*time.Second, "overall deadline")
		_ = fs.Parse(os.Args[2:])
		if *namesrv == "" || *broker == "" || *topic == "" {
			usage()
		}
		deadline := time.Now().Add(*timeout)
		var ok string
		switch os.Args[1] {
		case "tag-filter":
			ok, err = tagFilter(*namesrv, *broker, *topic, *n, deadline)
		case "async-group":
			ok, err = asyncGroup(*namesrv, *broker, *topic, *n, deadline)
		case "ordered":
			ok, err = ordered(*namesrv, *broker, *topic, *n, deadline)
		case "transaction":
			ok, err = transaction(*namesrv, *broker, *topic, deadline)
		case "sql-filter":
			ok, err = sqlFilter(*namesrv, *broker, *topic, deadline)
		case "broadcast":
			ok, err = broadcast(*namesrv, *broker, *topic, *n, deadline)
		default:
			ok, err = delayed(*namesrv, *broker, *topic, *n, deadline)
		}
		if err == nil {
			fmt.Printf("OK: %s: %s\n", os.Args[1], ok)
		}
	case "acl":
		fs := flag.NewFlagSet("acl", flag.ExitOnError)
		namesrv := fs.String("namesrv", "", "name server host:port")
		topic := fs.String("topic", "", "a topic the user may send to and consume")
		denied := fs.String("denied", "", "a topic the user may not send to")
		group := fs.String("group", "", "a consumer group the user may consume as")
		ak := fs.String("ak", "", "access key")
		sk := fs.String("sk", "", "secret key")
		n := fs.Int("n", 8, "number of messages")
		timeout := fs.Duration("timeout", 90*time.Second, "overall deadline")
		_ = fs.Parse(os.Args[2:])
		if *namesrv == "" || *topic == "" || *denied == "" || *group == "" || *ak == "" || *sk == "" {
			usage()
		}
		creds := primitive.Credentials{AccessKey: *ak, SecretKey: *sk}
		var ok string
		ok, err = aclRoundTrip(*namesrv, *topic, *denied, *group, creds, *n, time.Now().Add(*timeout))
		if err == nil {
			fmt.Printf("OK: acl: %s\n", ok)
		}
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
	fmt.Fprintln(os.Stderr, "       compat-go tag-filter|async-group|ordered|delayed|transaction|sql-filter -namesrv ADDR -broker ADDR -topic T [-n N] [-timeout D]")
	fmt.Fprintln(os.Stderr, "       compat-go capture -addr ADDR -topic T [-consume D]")
	fmt.Fprintln(os.Stderr, "       compat-go acl -namesrv ADDR -topic T -denied T2 -group G -ak AK -sk SK [-n N] [-timeout D]")
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

// collector records deliveries of expected messages (by key) from any number of consumers.
type collector struct {
	mu       sync.Mutex
	want     map[string]expected
	got      map[string]string // key -> receiver
	problems []string
}

func newCollector() *collector {
	return &collector{want: map[string]expected{}, got: map[string]string{}}
}

func (c *collector) expect(e expected) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.want[e.key] = e
}

func (c *collector) accept(receiver, topic string, m *primitive.MessageExt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := m.GetKeys()
	e, ok := c.want[key]
	if !ok {
		c.problems = append(c.problems, fmt.Sprintf("%s: unexpected message keys=%q tags=%q body=%q", receiver, key, m.GetTags(), m.Body))
		return
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
		c.problems = append(c.problems, fmt.Sprintf("%s: key %s: %v", receiver, key, bad))
	}
	if first, dup := c.got[key]; dup {
		c.problems = append(c.problems, fmt.Sprintf("duplicate delivery of key %s (first to %s, again to %s at queue %d offset %d)", key, first, receiver, m.Queue.QueueId, m.QueueOffset))
		return
	}
	c.got[key] = receiver
}

// check reports problems and missing messages.
func (c *collector) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) > 0 {
		return fmt.Errorf("%d bad deliveries: %v", len(c.problems), c.problems)
	}
	if len(c.got) < len(c.want) {
		var missing []string
		for k := range c.want {
			if _, ok := c.got[k]; !ok {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		return fmt.Errorf("timeout: received %d of %d messages; missing keys %v", len(c.got), len(c.want), missing)
	}
	return nil
}

// await polls until every expected message arrived or a problem was seen (or the deadline).
func (c *collector) await(deadline time.Time) error {
	for time.Now().Before(deadline) {
		c.mu.Lock()
		done := len(c.problems) > 0 || len(c.got) >= len(c.want)
		c.mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	return c.check()
}

func (c *collector) countBy(receiver string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.got {
		if r == receiver {
			n++
		}
	}
	return n
}

func newExpected(tag, kind, run string, i int) expected {
	return expected{
		tag:  tag,
		key:  fmt.Sprintf("%s-%s-%d", kind, run, i),
		body: fmt.Sprintf("go %s body #%d run %s \u00fc\u20ac\u4e2d", kind, i, run),
		idx:  strconv.Itoa(i),
		run:  run,
	}
}

func (e expected) message(topic string) *primitive.Message {
	msg := primitive.NewMessage(topic, []byte(e.body))
	msg.WithTag(e.tag)
	msg.WithKeys([]string{e.key})
	msg.WithProperty("idx", e.idx)
	msg.WithProperty("run", e.run)
	return msg
}

// createTopic sends UPDATE_AND_CREATE_TOPIC to the broker and waits for the route.
func createTopic(namesrv, broker, topic string, queues int, deadline time.Time) error {
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{namesrv})))
	if err != nil {
		return fmt.Errorf("new admin: %w", err)
	}
	defer adm.Close()
	err = adm.CreateTopic(context.Background(),
		admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(broker),
		admin.WithReadQueueNums(queues),
		admin.WithWriteQueueNums(queues),
	)
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	var last error
	for time.Now().Before(deadline) {
		mqs, err := adm.FetchPublishMessageQueues(context.Background(), topic)
		if err == nil && len(mqs) > 0 {
			if len(mqs) != queues {
				return fmt.Errorf("route of %s has %d queues, created %d", topic, len(mqs), queues)
			}
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	return fmt.Errorf("name server never served a route for %s: %v", topic, last)
}

func startProducer(namesrv, group string) (rocketmq.Producer, error) {
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName(group),
		producer.WithInstanceName(group),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("start producer: %w", err)
	}
	return p, nil
}

// startConsumer starts a clustering push consumer from the first offset that hands every
// delivery of topic to col as receiver.
func startConsumer(namesrv, group, receiver, topic, expression string, col *collector, opts ...consumer.Option) (rocketmq.PushConsumer, error) {
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: expression}
	return startSelectorConsumer(namesrv, group, receiver, topic, selector, col, opts...)
}

// startSelectorConsumer is startConsumer with any selector (TAG or SQL92).
func startSelectorConsumer(namesrv, group, receiver, topic string, selector consumer.MessageSelector, col *collector, opts ...consumer.Option) (rocketmq.PushConsumer, error) {
	opts = append([]consumer.Option{
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance(group + "-" + receiver),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := rocketmq.NewPushConsumer(opts...)
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, selector, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			col.accept(receiver, topic, m)
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start consumer: %w", err)
	}
	return c, nil
}

func runID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 16)
}

func tagFilter(namesrv, broker, topic string, n int, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 1, deadline); err != nil {
		return "", err
	}
	p, err := startProducer(namesrv, topic+"_pg")
	if err != nil {
		return "", err
	}
	col := newCollector()
	for i := 0; i < 3*n; i++ {
		tag := []string{"A", "B", "C"}[i%3]
		e := newExpected(tag, "TAG"+tag, run, i)
		if tag != "B" {
			col.expect(e)
		}
		res, err := p.SendSync(context.Background(), e.message(topic))
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("status %v", res.Status)
		}
		if err != nil {
			_ = p.Shutdown()
			return "", fmt.Errorf("send #%d: %w", i, err)
		}
	}
	sentinel := newExpected("C", "END", run, 3*n)
	col.expect(sentinel)
	if _, err := p.SendSync(context.Background(), sentinel.message(topic)); err != nil {
		_ = p.Shutdown()
		return "", fmt.Errorf("send sentinel: %w", err)
	}
	_ = p.Shutdown()

	c, err := startConsumer(namesrv, topic+"_cg", "c", topic, "A || C", col, consumer.WithConsumeGoroutineNums(1))
	if err != nil {
		return "", err
	}
	err = col.await(deadline)
	_ = c.Shutdown()
	if err != nil {
		return "", err
	}
	byTag := map[string]int{}
	col.mu.Lock()
	for key := range col.got {
		byTag[col.want[key].tag]++
	}
	col.mu.Unlock()
	return fmt.Sprintf("received A=%d B=%d C=%d of A/B/C x%d (+1 C sentinel)", byTag["A"], byTag["B"], byTag["C"], n), nil
}

// probes records which member received each probe message (keys "PROBE-...").
type probes struct {
	mu   sync.Mutex
	seen map[string][]string // key -> receivers
	qid  map[string]int      // key -> queue id
}

func (p *probes) accept(receiver string, m *primitive.MessageExt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[m.GetKeys()] = append(p.seen[m.GetKeys()], receiver)
	p.qid[m.GetKeys()] = m.Queue.QueueId
}

// settle sends rounds of one probe per queue (round robin) until two rounds in a row show the
// same stable ownership: every queue's probe delivered once, two queues per member. Until the
// rebalance has settled, a queue can move after its messages were consumed and before the offset
// reached the broker, and the new owner legitimately reads them again; the scenario's own
// messages are sent only after that.
func settle(p rocketmq.Producer, topic, run string, pr *probes, deadline time.Time) (int, error) {
	last, stable := "", 0
	for round := 1; ; round++ {
		if !time.Now().Before(deadline) {
			return round, fmt.Errorf("timeout: group never settled on two queues per member (last ownership %q)", last)
		}
		var keys []string
		for q := 0; q < 4; q++ {
			key := fmt.Sprintf("PROBE-%s-%d-%d", run, round, q)
			msg := primitive.NewMessage(topic, []byte(key))
			msg.WithKeys([]string{key})
			if _, err := p.SendSync(context.Background(), msg); err != nil {
				return round, fmt.Errorf("probe send: %w", err)
			}
			keys = append(keys, key)
		}
		for {
			pr.mu.Lock()
			done := true
			for _, k := range keys {
				done = done && len(pr.seen[k]) > 0
			}
			pr.mu.Unlock()
			if done {
				break
			}
			if !time.Now().Before(deadline) {
				return round, fmt.Errorf("timeout: probes of round %d not all delivered", round)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, bounded by the deadline
		}
		pr.mu.Lock()
		owner := map[int]string{}
		perMember := map[string]int{}
		ok := true
		for _, k := range keys {
			if len(pr.seen[k]) != 1 {
				ok = false
			}
			owner[pr.qid[k]] = pr.seen[k][0]
			perMember[pr.seen[k][0]]++
		}
		pr.mu.Unlock()
		ok = ok && len(owner) == 4 && perMember["a"] == 2 && perMember["b"] == 2
		now := fmt.Sprint(owner)
		if ok && now == last {
			stable++
		} else if ok {
			stable = 1
		} else {
			stable = 0
		}
		last = now
		if stable == 2 {
			return round, nil
		}
	}
}

func asyncGroup(namesrv, broker, topic string, n int, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 4, deadline); err != nil {
		return "", err
	}
	col := newCollector()
	pr := &probes{seen: map[string][]string{}, qid: map[string]int{}}
	group := topic + "_cg"
	var members []rocketmq.PushConsumer
	defer func() {
		for _, c := range members {
			_ = c.Shutdown()
		}
	}()
	for _, label := range []string{"a", "b"} {
		c, err := rocketmq.NewPushConsumer(
			consumer.WithNameServer([]string{namesrv}),
			consumer.WithGroupName(group),
			consumer.WithInstance(group+"-"+label),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		)
		if err != nil {
			return "", fmt.Errorf("new consumer: %w", err)
		}
		receiver := label
		err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
			func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
				for _, m := range msgs {
					if strings.HasPrefix(m.GetKeys(), "PROBE-") {
						pr.accept(receiver, m)
					} else {
						col.accept(receiver, topic, m)
					}
				}
				return consumer.ConsumeSuccess, nil
			})
		if err != nil {
			return "", fmt.Errorf("subscribe: %w", err)
		}
		if err := c.Start(); err != nil {
			return "", fmt.Errorf("start consumer: %w", err)
		}
		members = append(members, c)
	}
	p, err := startProducer(namesrv, topic+"_pg")
	if err != nil {
		return "", err
	}
	defer func() { _ = p.Shutdown() }()
	rounds, err := settle(p, topic, run, pr, deadline)
	if err != nil {
		return "", err
	}
	fmt.Printf("group settled after %d probe round(s)\n", rounds)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var sendErrs []string
	ok := 0
	for i := 0; i < n; i++ {
		e := newExpected("Async", "ASYNC", run, i)
		col.expect(e)
		wg.Add(1)
		key := e.key
		err := p.SendAsync(context.Background(), func(_ context.Context, res *primitive.SendResult, err error) {
			defer wg.Done()
			if err == nil && res.Status != primitive.SendOK {
				err = fmt.Errorf("status %v", res.Status)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				sendErrs = append(sendErrs, fmt.Sprintf("%s: %v", key, err))
			} else {
				ok++
			}
		}, e.message(topic))
		if err != nil {
			wg.Done()
			return "", fmt.Errorf("async send %s: %w", key, err)
		}
	}
	wg.Wait() // every callback runs: each send has a 10 s timeout
	if len(sendErrs) > 0 {
		return "", fmt.Errorf("async sends failed: %v", sendErrs)
	}
	if err := col.await(deadline); err != nil {
		return "", err
	}
	a, b := col.countBy("a"), col.countBy("b")
	if a == 0 || b == 0 {
		return "", fmt.Errorf("one member received nothing: a=%d b=%d", a, b)
	}
	return fmt.Sprintf("%d async sends SEND_OK, all %d consumed once by the group of two (a=%d, b=%d)", ok, n, a, b), nil
}

// logf prints a progress line with the time since the program started.
func logf(format string, args ...interface{}) {
	fmt.Printf("[+%d ms] %s\n", time.Since(programStart).Milliseconds(), fmt.Sprintf(format, args...))
}

var programStart = time.Now()

var shardingKeys = []string{"ORDER0", "ORDER1", "ORDER2"}

// ordered: see the package comment.
func ordered(namesrv, broker, topic string, m int, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 4, deadline); err != nil {
		return "", err
	}
	type delivery struct {
		shard  string
		seq    int
		queue  int
		offset int64
	}
	col := newCollector()
	var mu sync.Mutex
	var deliveries []delivery
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(topic+"_cg"),
		consumer.WithInstance(topic+"_cg"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumerOrder(true),
	)
	if err != nil {
		return "", fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, msg := range msgs {
				col.accept("c", topic, msg)
				key := msg.GetKeys()
				shard, seq := key, -1
				if i := strings.IndexByte(key, '-'); i > 0 {
					shard = key[:i]
					seq, _ = strconv.Atoi(msg.GetProperty("idx"))
				}
				mu.Lock()
				deliveries = append(deliveries, delivery{shard, seq, msg.Queue.QueueId, msg.QueueOffset})
				mu.Unlock()
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("start consumer: %w", err)
	}
	defer func() { _ = c.Shutdown() }()

	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName(topic+"_pg"),
		producer.WithInstanceName(topic+"_pg"),
		producer.WithQueueSelector(producer.NewHashQueueSelector()),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return "", fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("start producer: %w", err)
	}
	defer func() { _ = p.Shutdown() }()
	queueOf := map[string]int{}
	for seq := 0; seq < m; seq++ {
		for _, shard := range shardingKeys {
			e := newExpected("Ordered", shard, run, seq)
			col.expect(e)
			msg := e.message(topic)
			msg.WithShardingKey(shard)
			res, err := p.SendSync(context.Background(), msg)
			if err == nil && res.Status != primitive.SendOK {
				err = fmt.Errorf("status %v", res.Status)
			}
			if err != nil {
				return "", fmt.Errorf("send %s: %w", e.key, err)
			}
			q, seen := queueOf[shard]
			if !seen {
				queueOf[shard] = res.MessageQueue.QueueId
			} else if q != res.MessageQueue.QueueId {
				return "", fmt.Errorf("%s seq %d sent to queue %d, earlier ones to queue %d", shard, seq, res.MessageQueue.QueueId, q)
			}
		}
	}
	logf("sent %d x %v; sharding key -> queue %v", m, shardingKeys, queueOf)
	if err := col.await(deadline); err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	for _, shard := range shardingKeys {
		var seqs []int
		for _, d := range deliveries {
			if d.shard != shard {
				continue
			}
			if d.queue != queueOf[shard] {
				return "", fmt.Errorf("%s seq %d delivered from queue %d, sent to queue %d", shard, d.seq, d.queue, queueOf[shard])
			}
			if d.seq != len(seqs) {
				return "", fmt.Errorf("%s: seq %d delivered after %v (want %d next)", shard, d.seq, seqs, len(seqs))
			}
			seqs = append(seqs, d.seq)
		}
		if len(seqs) != m {
			return "", fmt.Errorf("%s: %d of %d delivered", shard, len(seqs), m)
		}
	}
	return fmt.Sprintf("%d keys x %d, each key in one queue, consumed once each in order", len(shardingKeys), m), nil
}

// delayed: see the package comment.
func delayed(namesrv, broker, topic string, n int, deadline time.Time) (string, error) {
	const level2 = 5000 * time.Millisecond
	const tolerance = 1000 * time.Millisecond
	run := runID()
	if err := createTopic(namesrv, broker, topic, 1, deadline); err != nil {
		return "", err
	}
	col := newCollector()
	pr := &probes{seen: map[string][]string{}, qid: map[string]int{}}
	var mu sync.Mutex
	consumedAt := map[string]time.Time{}
	delivered := map[string]*primitive.MessageExt{}
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(topic+"_cg"),
		consumer.WithInstance(topic+"_cg"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		return "", fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			now := time.Now()
			for _, msg := range msgs {
				if strings.HasPrefix(msg.GetKeys(), "PROBE-") {
					pr.accept("c", msg)
					continue
				}
				mu.Lock()
				if _, dup := consumedAt[msg.GetKeys()]; !dup {
					consumedAt[msg.GetKeys()] = now
					delivered[msg.GetKeys()] = msg
				}
				mu.Unlock()
				col.accept("c", topic, msg)
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("start consumer: %w", err)
	}
	defer func() { _ = c.Shutdown() }()
	p, err := startProducer(namesrv, topic+"_pg")
	if err != nil {
		return "", err
	}
	defer func() { _ = p.Shutdown() }()

	// A probe shows the consumer pulling the queue, so the delay is all that is measured.
	probe := "PROBE-" + run
	msg := primitive.NewMessage(topic, []byte(probe))
	msg.WithKeys([]string{probe})
	if _, err := p.SendSync(context.Background(), msg); err != nil {
		return "", fmt.Errorf("probe send: %w", err)
	}
	for {
		pr.mu.Lock()
		got := len(pr.seen[probe]) > 0
		pr.mu.Unlock()
		if got {
			break
		}
		if !time.Now().Before(deadline) {
			return "", fmt.Errorf("timeout: the probe was never consumed")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	logf("consumer is pulling (probe consumed)")

	msgIDs := map[string]string{}
	for i := 0; i < n; i++ {
		e := newExpected("Delayed", "DELAYED", run, i)
		col.expect(e)
		msg := e.message(topic)
		msg.WithDelayTimeLevel(2)
		res, err := p.SendSync(context.Background(), msg)
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("status %v", res.Status)
		}
		if err != nil {
			return "", fmt.Errorf("send %s: %w", e.key, err)
		}
		msgIDs[e.key] = res.MsgID
	}
	logf("sent %d with delay level 2", n)
	if err := col.await(deadline); err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	var latencies []string
	for key, id := range msgIDs {
		msg := delivered[key]
		latency := consumedAt[key].Sub(time.UnixMilli(msg.BornTimestamp))
		latencies = append(latencies, fmt.Sprintf("%s=%dms", key[strings.LastIndexByte(key, '-')+1:], latency.Milliseconds()))
		if latency < level2 {
			return "", fmt.Errorf("%s consumed %v after its born timestamp, before the 5 s of delay level 2", key, latency)
		}
		if latency > level2+tolerance {
			return "", fmt.Errorf("%s consumed %v after its born timestamp, more than 6 s", key, latency)
		}
		if msg.MsgId != id {
			return "", fmt.Errorf("%s msgId %s, sent %s", key, msg.MsgId, id)
		}
		if d := msg.GetProperty(primitive.PropertyDelayTimeLevel); d != "" {
			return "", fmt.Errorf("%s still carries DELAY=%s", key, d)
		}
	}
	sort.Strings(latencies)
	logf("born-to-consume %v", latencies)
	return fmt.Sprintf("%d with delay level 2 consumed once each, 5000-6000 ms after the send", n), nil
}

// kindOf is a scenario key's prefix: "COMMIT" for "COMMIT-<run>-0".
func kindOf(key string) string {
	if i := strings.IndexByte(key, '-'); i > 0 {
		return key[:i]
	}
	return key
}

// txListener answers the local transaction and the check-back per kind, counts check-backs and
// checks that each check-back carries its message intact.
type txListener struct {
	topic    string
	mu       sync.Mutex
	sent     map[string]expected // kind -> message
	msgIDs   map[string]string   // kind -> msgId (the transaction id) of the half send
	checks   map[string]int
	problems []string
}

var txLocal = map[string]primitive.LocalTransactionState{
	"COMMIT":   primitive.CommitMessageState,
	"ROLLBACK": primitive.RollbackMessageState,
	"UNKNOW":   primitive.UnknowState,
	"PROBE":    primitive.UnknowState,
}

var txCheck = map[string]primitive.LocalTransactionState{
	"COMMIT":   primitive.CommitMessageState,
	"ROLLBACK": primitive.RollbackMessageState,
	"UNKNOW":   primitive.CommitMessageState,
	"PROBE":    primitive.RollbackMessageState,
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	state, ok := txLocal[kindOf(m.GetKeys())]
	if !ok {
		l.mu.Lock()
		l.problems = append(l.problems, "local transaction for an unexpected message keys="+m.GetKeys())
		l.mu.Unlock()
		return primitive.RollbackMessageState
	}
	return state
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	kind := kindOf(m.GetKeys())
	logf("check-back for %s (transactionId %s)", m.GetKeys(), m.TransactionId)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checks[kind]++
	e, ok := l.sent[kind]
	if !ok {
		l.problems = append(l.problems, "check-back for an unexpected message keys="+m.GetKeys())
		return primitive.UnknowState
	}
	var bad []string
	if m.Topic != l.topic {
		bad = append(bad, "topic "+m.Topic)
	}
	if string(m.Body) != e.body {
		bad = append(bad, fmt.Sprintf("body %q", m.Body))
	}
	if m.GetTags() != e.tag {
		bad = append(bad, "tag "+m.GetTags())
	}
	if m.GetProperty("idx") != e.idx || m.GetProperty("run") != e.run {
		bad = append(bad, "idx/run "+m.GetProperty("idx")+"/"+m.GetProperty("run"))
	}
	if id := l.msgIDs[kind]; id != "" && m.TransactionId != id {
		bad = append(bad, "transactionId "+m.TransactionId+", sent "+id)
	}
	if len(bad) > 0 {
		l.problems = append(l.problems, fmt.Sprintf("check-back of %s: %v", kind, bad))
	}
	return txCheck[kind]
}

func (l *txListener) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) > 0 {
		return fmt.Errorf("%v", l.problems)
	}
	return nil
}

// transaction: see the package comment and the Java scenario (TransactionSqlTimerScenarios):
// the PROBE's check-back shows the broker's checker walked past ROLLBACK after its timeout (it
// walks the half queue in order), and the sentinel after it shows nothing else reached the queue.
func transaction(namesrv, broker, topic string, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 1, deadline); err != nil {
		return "", err
	}
	col := newCollector()
	var mu sync.Mutex
	delivered := map[string]*primitive.MessageExt{} // key -> first delivery
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(topic+"_cg"),
		consumer.WithInstance(topic+"_cg"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumeGoroutineNums(1),
	)
	if err != nil {
		return "", fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				mu.Lock()
				if _, seen := delivered[m.GetKeys()]; !seen {
					delivered[m.GetKeys()] = m
				}
				mu.Unlock()
				col.accept("c", topic, m)
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("start consumer: %w", err)
	}
	defer func() { _ = c.Shutdown() }()

	l := &txListener{topic: topic, sent: map[string]expected{}, msgIDs: map[string]string{}, checks: map[string]int{}}
	tp, err := rocketmq.NewTransactionProducer(l,
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName(topic+"_pg"),
		producer.WithInstanceName(topic+"_pg"),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return "", fmt.Errorf("new transaction producer: %w", err)
	}
	if err := tp.Start(); err != nil {
		return "", fmt.Errorf("start transaction producer: %w", err)
	}
	defer func() { _ = tp.Shutdown() }()
	sendHalf := func(kind string, i int) (string, error) {
		e := newExpected("Tx", kind, run, i)
		l.mu.Lock()
		l.sent[kind] = e
		l.mu.Unlock()
		res, err := tp.SendMessageInTransaction(context.Background(), e.message(topic))
		if err != nil {
			return "", fmt.Errorf("half send %s: %w", kind, err)
		}
		if res.Status != primitive.SendOK {
			return "", fmt.Errorf("half send %s: status %v", kind, res.Status)
		}
		if res.State != txLocal[kind] {
			return "", fmt.Errorf("half send %s: local state %v", kind, res.State)
		}
		l.mu.Lock()
		l.msgIDs[kind] = res.MsgID
		l.mu.Unlock()
		return res.MsgID, nil
	}
	msgIDs := map[string]string{}
	sentAt := time.Now()
	for i, kind := range []string{"COMMIT", "ROLLBACK", "UNKNOW"} {
		id, err := sendHalf(kind, i)
		if err != nil {
			return "", err
		}
		msgIDs[kind] = id
		if kind != "ROLLBACK" {
			col.expect(l.sent[kind])
		}
	}
	logf("sent COMMIT, ROLLBACK and UNKNOW half messages")
	if err := col.await(deadline); err != nil {
		return "", err
	}
	if err := l.failed(); err != nil {
		return "", err
	}
	logf("COMMIT and UNKNOW consumed %d ms after the sends", time.Since(sentAt).Milliseconds())
	mu.Lock()
	for _, kind := range []string{"COMMIT", "UNKNOW"} {
		m := delivered[l.sent[kind].key]
		if m.MsgId != msgIDs[kind] {
			mu.Unlock()
			return "", fmt.Errorf("%s delivered with msgId %s, its send returned %s", kind, m.MsgId, msgIDs[kind])
		}
		// Apache delivers a committed message with every property of its half message.
		if p := m.GetProperty(primitive.PropertyTransactionPrepared); p != "true" {
			mu.Unlock()
			return "", fmt.Errorf("%s delivered with TRAN_MSG=%q, Apache keeps TRAN_MSG=true on committed messages", kind, p)
		}
	}
	mu.Unlock()

	if _, err := sendHalf("PROBE", 3); err != nil {
		return "", err
	}
	probeAt := time.Now()
	for {
		if err := l.failed(); err != nil {
			return "", err
		}
		l.mu.Lock()
		checked := l.checks["PROBE"] > 0
		l.mu.Unlock()
		if checked {
			break
		}
		if !time.Now().Before(deadline) {
			return "", fmt.Errorf("timeout waiting for the check-back of PROBE")
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	logf("PROBE checked back after %d ms", time.Since(probeAt).Milliseconds())

	// The transaction producer cannot send normal messages; the sentinel goes through another.
	p, err := startProducer(namesrv, topic+"_pg2")
	if err != nil {
		return "", err
	}
	defer func() { _ = p.Shutdown() }()
	sentinel := newExpected("Tx", "END", run, 4)
	col.expect(sentinel)
	if res, err := p.SendSync(context.Background(), sentinel.message(topic)); err != nil || res.Status != primitive.SendOK {
		return "", fmt.Errorf("sentinel send: %v %v", res, err)
	}
	if err := col.await(deadline); err != nil {
		return "", err
	}
	if err := l.failed(); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	logf("check-backs per kind: %v", l.checks)
	if l.checks["COMMIT"] != 0 || l.checks["ROLLBACK"] != 0 {
		return "", fmt.Errorf("COMMIT / ROLLBACK checked back %d / %d time(s)", l.checks["COMMIT"], l.checks["ROLLBACK"])
	}
	if l.checks["UNKNOW"] < 1 {
		return "", fmt.Errorf("UNKNOW was never checked back")
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.got) != 3 {
		return "", fmt.Errorf("received %v", col.got)
	}
	return "COMMIT and UNKNOW (committed on check-back) consumed once each, intact; ROLLBACK and PROBE " +
		"(rolled back on check-back) never; check-backs COMMIT=0 ROLLBACK=0 UNKNOW>=1 PROBE>=1", nil
}

// sqlExpression is the subscription of docs/scenarios.md.
const sqlExpression = "a > 5 AND b = 'x'"

// sqlCase is one message of the sql-filter scenario; "" means the property is not set.
type sqlCase struct{ a, b string }

// sqlCases: a = 1..10 with b = 'x', then with b = 'y'; then a missing, b missing, a not a number,
// a decimal (Integer.valueOf fails against the int literal 5), a with a plus sign (an int to
// Java), a past the int range, b in another case; the last is the sentinel (matches). The same
// set as the Java scenario.
func sqlCases() []sqlCase {
	var cases []sqlCase
	for _, b := range []string{"x", "y"} {
		for a := 1; a <= 10; a++ {
			cases = append(cases, sqlCase{strconv.Itoa(a), b})
		}
	}
	return append(cases,
		sqlCase{"", "x"}, sqlCase{"7", ""}, sqlCase{"abc", "x"}, sqlCase{"5.5", "x"},
		sqlCase{"+7", "x"}, sqlCase{"2147483648", "x"}, sqlCase{"6", "X"},
		sqlCase{"100", "x"}) // the sentinel
}

// matches is what sqlExpression must select: a an int above 5 and b exactly "x".
func (c sqlCase) matches() bool {
	a, err := strconv.ParseInt(c.a, 10, 32)
	return err == nil && a > 5 && c.b == "x"
}

// sqlFilter: see the package comment.
func sqlFilter(namesrv, broker, topic string, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 1, deadline); err != nil {
		return "", err
	}
	p, err := startProducer(namesrv, topic+"_pg")
	if err != nil {
		return "", err
	}
	col := newCollector()
	cases := sqlCases()
	for i, sc := range cases {
		e := newExpected("Sql", "SQL", run, i)
		msg := e.message(topic)
		if sc.a != "" {
			msg.WithProperty("a", sc.a)
		}
		if sc.b != "" {
			msg.WithProperty("b", sc.b)
		}
		if sc.matches() {
			col.expect(e)
		}
		res, err := p.SendSync(context.Background(), msg)
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("status %v", res.Status)
		}
		if err != nil {
			_ = p.Shutdown()
			return "", fmt.Errorf("send #%d: %w", i, err)
		}
	}
	_ = p.Shutdown()
	logf("sent %d messages", len(cases))

	selector := consumer.MessageSelector{Type: consumer.SQL92, Expression: sqlExpression}
	c, err := startSelectorConsumer(namesrv, topic+"_cg", "c", topic, selector, col, consumer.WithConsumeGoroutineNums(1))
	if err != nil {
		return "", err
	}
	// One queue, one consume goroutine: once the sentinel is in, everything before it is too.
	err = col.await(deadline)
	_ = c.Shutdown()
	if err != nil {
		return "", err
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	var idx []int
	for key := range col.got {
		i, _ := strconv.Atoi(col.want[key].idx)
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var as []string
	for _, i := range idx {
		as = append(as, cases[i].a)
	}
	return fmt.Sprintf("received %d of %d with %s: a=[%s]", len(col.got), len(cases), sqlExpression, strings.Join(as, ", ")), nil
}

// broadcast: two members of one BROADCASTING group (offsets kept locally by each) both receive
// every one of n messages over two queues, each exactly once and intact.
func broadcast(namesrv, broker, topic string, n int, deadline time.Time) (string, error) {
	run := runID()
	if err := createTopic(namesrv, broker, topic, 2, deadline); err != nil {
		return "", err
	}
	group := topic + "_cg"
	members := []string{"m1", "m2"}
	cols := map[string]*collector{}
	var consumers []rocketmq.PushConsumer
	defer func() {
		for _, c := range consumers {
			_ = c.Shutdown()
		}
	}()
	for _, m := range members {
		cols[m] = newCollector()
		c, err := startConsumer(namesrv, group, m, topic, "*", cols[m], consumer.WithConsumerModel(consumer.BroadCasting))
		if err != nil {
			return "", err
		}
		consumers = append(consumers, c)
	}
	p, err := startProducer(namesrv, topic+"_pg")
	if err != nil {
		return "", err
	}
	defer func() { _ = p.Shutdown() }()
	for i := 0; i < n; i++ {
		e := newExpected("B", "BCAST", run, i)
		for _, m := range members {
			cols[m].expect(e)
		}
		res, err := p.SendSync(context.Background(), e.message(topic))
		if err == nil && res.Status != primitive.SendOK {
			err = fmt.Errorf("status %v", res.Status)
		}
		if err != nil {
			return "", fmt.Errorf("send #%d: %w", i, err)
		}
	}
	counts := []string{}
	for _, m := range members {
		if err := cols[m].await(deadline); err != nil {
			return "", fmt.Errorf("member %s: %w", m, err)
		}
		counts = append(counts, fmt.Sprintf("%s=%d", m, cols[m].countBy(m)))
	}
	return fmt.Sprintf("each member received all %d messages once: %s", n, strings.Join(counts, " ")), nil
}

// aclRoundTrip signs with creds (ACL 1.0 and 2.0 sign alike): n sends to topic succeed, a send
// to denied is refused by the broker, a producer with a wrong secret is refused, and a push
// consumer of group receives the n messages.
func aclRoundTrip(namesrv, topic, denied, group string, creds primitive.Credentials, n int, deadline time.Time) (string, error) {
	run := runID()
	p, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName("compat_go_acl_pg_"+run),
		producer.WithInstanceName("compat-go-acl-"+run),
		producer.WithCredentials(creds),
		producer.WithRetry(0),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return "", fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("start producer: %w", err)
	}
	defer func() { _ = p.Shutdown() }()
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("go acl #%d run %s", i, run)
		res, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte(body)))
		if err != nil {
			return "", fmt.Errorf("signed send #%d: %w", i, err)
		}
		if res.Status != primitive.SendOK {
			return "", fmt.Errorf("signed send #%d: status %v", i, res.Status)
		}
		want[body] = true
	}
	if _, err := p.SendSync(context.Background(), primitive.NewMessage(denied, []byte("never"))); err == nil {
		return "", fmt.Errorf("a send to %s was accepted", denied)
	} else {
		fmt.Printf("denied send refused: %v\n", err)
	}

	wrong, err := rocketmq.NewProducer(
		producer.WithNameServer([]string{namesrv}),
		producer.WithGroupName("compat_go_acl_wrong_"+run),
		producer.WithInstanceName("compat-go-acl-wrong-"+run),
		producer.WithCredentials(primitive.Credentials{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey + "-wrong"}),
		producer.WithRetry(0),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return "", fmt.Errorf("new producer: %w", err)
	}
	if err := wrong.Start(); err != nil {
		return "", fmt.Errorf("start producer: %w", err)
	}
	_, werr := wrong.SendSync(context.Background(), primitive.NewMessage(topic, []byte("forged")))
	_ = wrong.Shutdown()
	if werr == nil {
		return "", fmt.Errorf("a send with a wrong secret was accepted")
	}
	fmt.Printf("wrong secret refused: %v\n", werr)

	var mu sync.Mutex
	got := map[string]bool{}
	done := make(chan struct{})
	var once sync.Once
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer([]string{namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance("compat-go-acl-c-"+run),
		consumer.WithCredentials(creds),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		return "", fmt.Errorf("new consumer: %w", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				if want[string(m.Body)] {
					got[string(m.Body)] = true
				}
			}
			if len(got) == len(want) {
				once.Do(func() { close(done) })
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("start consumer: %w", err)
	}
	defer func() { _ = c.Shutdown() }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		mu.Lock()
		defer mu.Unlock()
		return "", fmt.Errorf("received %d of %d signed messages", len(got), len(want))
	}
	return fmt.Sprintf("sent and received %d, denied topic refused, wrong secret refused", n), nil
}
