package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// stdin is where inspect --delete reads its confirmation; tests set it.
var stdin io.Reader = os.Stdin

// inspectStore is what inspect needs of a store: the Store, and the
// read-only views of persist.RedisStore (its index without dropping
// anything, and the records' remaining time to live).
type inspectStore interface {
	persist.Store
	persist.Expirer
	persist.Fencer
	persist.Loader
	IndexMembers(ctx context.Context, node string) (live []persist.DueSession, gone []string, err error)
	RecordTTLs(ctx context.Context, sessionIDs []string) ([]time.Duration, error)
}

var _ inspectStore = (*persist.RedisStore)(nil)

// docsFlag collects --doc paths: files, or directories searched for
// *.scxml.
type docsFlag []string

func (f *docsFlag) String() string     { return strings.Join(*f, ",") }
func (f *docsFlag) Set(v string) error { *f = append(*f, v); return nil }

const inspectUsage = `usage: scxml inspect --config FILE [--json] [--doc PATH]...
         [--node NODE | --session ID | --delete ID [--yes]]

Looks at the sessions persisted in the Redis (standalone or Redis Cluster)
that FILE's [persistence] section names, under ORS:<cluster-name>:
  (no selector)     the nodes with sessions, and how many each holds
  --node NODE       the sessions in NODE's index: document, type, age, TTL,
                    next timer, seq, owner, hibernated
  --session ID      one session: its record, configuration, datamodel,
                    pending delayed sends with due times, queued events,
                    invoked children
  --delete ID       delete a session's record and index entries, after
                    asking (--yes: without asking)
--doc names the documents the sessions run (files or directories), so that
states are shown by id rather than by index. Damaged records are reported,
and the rest is shown. Nothing is written but by --delete.
A session shows as hibernated when its record was refreshed after its last
write: its engine does that for the sessions it hibernated, once their
record is half its TTL old (a session hibernated more recently shows "-").
`

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, inspectUsage) }
	cfgPath := fs.String("config", "", "")
	node := fs.String("node", "", "")
	session := fs.String("session", "", "")
	del := fs.String("delete", "", "")
	yes := fs.Bool("yes", false, "")
	asJSON := fs.Bool("json", false, "")
	timeout := fs.Duration("timeout", 30*time.Second, "")
	var docs docsFlag
	fs.Var(&docs, "doc", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	selectors := 0
	for _, s := range []string{*node, *session, *del} {
		if s != "" {
			selectors++
		}
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "scxml inspect: unexpected argument %q\n%s", fs.Arg(0), inspectUsage)
		return 2
	case *cfgPath == "":
		fmt.Fprintf(stderr, "scxml inspect: --config is required\n%s", inspectUsage)
		return 2
	case selectors > 1:
		fmt.Fprintf(stderr, "scxml inspect: give one of --node, --session and --delete\n%s", inspectUsage)
		return 2
	case *yes && *del == "":
		fmt.Fprintln(stderr, "scxml inspect: --yes goes with --delete")
		return 2
	}
	lib, err := loadDocs(docs)
	if err != nil {
		fmt.Fprintf(stderr, "scxml inspect: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	st, err := openInspectStore(ctx, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "scxml inspect: %v\n", err)
		return 1
	}
	defer st.Close()
	in := &inspector{st: st, lib: lib, now: time.Now(), json: *asJSON, out: stdout}
	switch {
	case *node != "":
		err = in.node(ctx, *node)
	case *session != "":
		err = in.session(ctx, *session)
	case *del != "":
		err = in.delete(ctx, *del, *yes, stderr)
	default:
		err = in.nodes(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scxml inspect: %v\n", err)
		return 1
	}
	return 0
}

// openInspectStore opens the Redis store of the configuration file.
func openInspectStore(ctx context.Context, cfgPath string) (inspectStore, error) {
	cfg, err := config.ParseFile(cfgPath)
	if err != nil {
		return nil, err
	}
	if cfg.Persistence.Type != config.TypeRedis {
		return nil, fmt.Errorf("--config %s: [persistence] type is %q: only a redis store can be inspected from outside the process that writes it", cfgPath, cfg.Persistence.Type)
	}
	quietRedis()
	st, err := persist.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	is, ok := st.(inspectStore)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("--config %s: the %T store cannot be inspected", cfgPath, st)
	}
	return is, nil
}

// loadDocs parses the documents --doc names, by hash.
func loadDocs(paths []string) (map[[32]byte]*scxml.Document, error) {
	lib := map[[32]byte]*scxml.Document{}
	add := func(path string) error {
		d, err := scxml.ParseFile(path, nil)
		if err != nil {
			return fmt.Errorf("--doc: %w", err)
		}
		lib[d.Hash] = d
		return nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--doc: %w", err)
		}
		if !fi.IsDir() {
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".scxml") {
				return err
			}
			return add(path)
		})
		if err != nil {
			return nil, err
		}
	}
	return lib, nil
}

type inspector struct {
	st   inspectStore
	lib  map[[32]byte]*scxml.Document
	now  time.Time
	json bool
	out  io.Writer
}

func (in *inspector) emit(v any) error {
	enc := json.NewEncoder(in.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nodeSummary is a node with the sessions its index holds.
type nodeSummary struct {
	Node string `json:"node"`
	// Sessions have a record; Stale index entries do not (their record
	// expired or was deleted; ListNode or the store's sweep drops them).
	Sessions int `json:"sessions"`
	Stale    int `json:"stale_index_entries"`
}

func (in *inspector) nodes(ctx context.Context) error {
	nodes, err := in.st.Nodes(ctx)
	if err != nil {
		return err
	}
	out := make([]nodeSummary, 0, len(nodes))
	for _, n := range nodes {
		live, gone, err := in.st.IndexMembers(ctx, n)
		if err != nil {
			return err
		}
		out = append(out, nodeSummary{Node: n, Sessions: len(live), Stale: len(gone)})
	}
	if in.json {
		return in.emit(map[string]any{"nodes": out})
	}
	if len(out) == 0 {
		fmt.Fprintln(in.out, "no node has sessions")
		return nil
	}
	tw := tabwriter.NewWriter(in.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSESSIONS\tSTALE INDEX ENTRIES")
	total := 0
	for _, n := range out {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", n.Node, n.Sessions, n.Stale)
		total += n.Sessions
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	return tw.Flush()
}

// sessionSummary is one line of a node's listing. A damaged record has
// Damaged set and only the fields read before the damage.
type sessionSummary struct {
	ID      string `json:"id"`
	Doc     string `json:"doc,omitempty"`
	Type    string `json:"type,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	Created string `json:"created,omitempty"`
	Updated string `json:"updated,omitempty"`
	AgeS    int64  `json:"age_s"`
	IdleS   int64  `json:"idle_s"`
	TTLS    int64  `json:"ttl_s"`
	Bytes   int    `json:"bytes,omitempty"`
	Hibern  bool   `json:"hibernated"`
	// Due is when the session's next delayed send falls due, as its
	// index entry says (what a node adopting the session goes by).
	Due     string   `json:"next_timer,omitempty"`
	DueInS  *float64 `json:"next_timer_in_s,omitempty"`
	Damaged string   `json:"damaged,omitempty"`
}

// dueIn renders the time to a session's next timer: "in 29s", "overdue
// 3s", or "-" when it has none.
func dueIn(s *float64) string {
	if s == nil {
		return "-"
	}
	d := time.Duration(*s * float64(time.Second)).Round(time.Second)
	if d < 0 {
		return "overdue " + short(-d)
	}
	return "in " + short(d)
}

func (in *inspector) node(ctx context.Context, node string) error {
	live, gone, err := in.st.IndexMembers(ctx, node)
	if err != nil {
		return err
	}
	ids := make([]string, len(live))
	for i, d := range live {
		ids[i] = d.SessionID
	}
	ttls, err := in.ttls(ctx, ids)
	if err != nil {
		return err
	}
	rows := make([]sessionSummary, 0, len(live))
	damaged := 0
	recs, errs := in.st.LoadMany(ctx, ids)
	for i, id := range ids {
		row := sessionSummary{ID: id, TTLS: seconds(ttls[i]), Due: stamp(live[i].Due)}
		if !live[i].Due.IsZero() {
			in := live[i].Due.Sub(in.now).Seconds()
			row.DueInS = &in
		}
		rec, err := recs[i], errs[i]
		switch {
		case errors.Is(err, persist.ErrNotFound):
			continue // ended since the index was read
		case err != nil:
			row.Damaged = err.Error()
			damaged++
		default:
			in.summarise(&row, rec, ttls[i])
		}
		rows = append(rows, row)
	}
	if in.json {
		return in.emit(map[string]any{"node": node, "sessions": rows, "stale_index_entries": gone})
	}
	if len(rows) == 0 {
		fmt.Fprintf(in.out, "node %s: no sessions\n", node)
	} else {
		tw := tabwriter.NewWriter(in.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tDOCUMENT\tTYPE\tAGE\tIDLE\tTTL\tNEXT TIMER\tSEQ\tOWNER\tHIBERNATED")
		for _, r := range rows {
			if r.Damaged != "" {
				fmt.Fprintf(tw, "%s\tDAMAGED\t\t\t\t%s\t%s\t\t\t\n", r.ID, short(time.Duration(r.TTLS)*time.Second), dueIn(r.DueInS))
				continue
			}
			owner := r.Owner
			if owner != node {
				owner += " (taken over)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Doc, r.Type,
				short(time.Duration(r.AgeS)*time.Second), short(time.Duration(r.IdleS)*time.Second),
				short(time.Duration(r.TTLS)*time.Second), dueIn(r.DueInS), r.Seq, owner, yesNo(r.Hibern))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if damaged > 0 {
		fmt.Fprintf(in.out, "%d damaged record(s) (--delete ID removes one):\n", damaged)
		for _, r := range rows {
			if r.Damaged != "" {
				fmt.Fprintf(in.out, "  %s\n", r.Damaged)
			}
		}
	}
	if len(gone) > 0 {
		fmt.Fprintf(in.out, "%d stale index entr(ies) without a record: %s\n", len(gone), strings.Join(gone, " "))
	}
	return nil
}

// ttls reads the records' time to live; a record gone meanwhile gets 0.
func (in *inspector) ttls(ctx context.Context, ids []string) ([]time.Duration, error) {
	out := make([]time.Duration, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(len(ids), start+1000)]
		t, err := in.st.RecordTTLs(ctx, chunk)
		if errors.Is(err, persist.ErrNotFound) {
			for i, id := range chunk { // one at a time, to find which
				if t1, err := in.st.RecordTTLs(ctx, []string{id}); err == nil {
					out[start+i] = t1[0]
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		copy(out[start:], t)
	}
	return out, nil
}

func (in *inspector) summarise(row *sessionSummary, rec *persist.Record, ttl time.Duration) {
	row.Doc, row.Type, row.Owner, row.Seq = rec.Doc, rec.Type, rec.Node, rec.Seq
	row.Created, row.Updated = stamp(rec.Created), stamp(rec.Updated)
	row.AgeS, row.IdleS = seconds(in.now.Sub(rec.Created)), seconds(in.now.Sub(rec.Updated))
	row.Bytes = len(rec.Data)
	row.Hibern = touchedSinceWrite(in.st.TTL(), ttl, rec.Updated, in.now)
}

// touchedSinceWrite reports whether a record's remaining time to live
// shows that it was refreshed (persist.Expirer.Touch) after its last
// checkpoint: a record is written with the store's full TTL, so one
// written at updated has at most ttl-(now-updated) left, unless it was
// touched since. The engine touches only the records of the sessions it
// hibernates, once they were written TTL/2 ago or more: a session
// hibernated more recently is not recognised yet. slack absorbs clock
// differences between the engine's node and this one.
func touchedSinceWrite(ttl, remaining time.Duration, updated, now time.Time) bool {
	if ttl <= 0 || remaining <= 0 || updated.IsZero() {
		return false
	}
	slack := 2*time.Second + ttl/100
	return remaining > ttl-now.Sub(updated)+slack
}

func seconds(d time.Duration) int64 {
	if d < 0 {
		return int64(d / time.Second) // -1 s: no TTL
	}
	return int64(d / time.Second)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// short renders a duration to the second, without trailing zero units:
// "3h2m", "45s".
func short(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	d = d.Truncate(time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sessionReport is everything inspect --session shows.
type sessionReport struct {
	ID         string       `json:"id"`
	Doc        string       `json:"doc"`
	DocHash    string       `json:"doc_sha256"`
	DocFile    string       `json:"doc_file,omitempty"`
	Type       string       `json:"type"`
	Owner      string       `json:"owner"`
	Indexed    []string     `json:"indexed_by"`
	Seq        uint64       `json:"seq"`
	Created    string       `json:"created"`
	Updated    string       `json:"updated"`
	AgeS       int64        `json:"age_s"`
	IdleS      int64        `json:"idle_s"`
	TTLS       int64        `json:"ttl_s"`
	Bytes      int          `json:"bytes"`
	Hibernated bool         `json:"hibernated"`
	Damaged    string       `json:"damaged,omitempty"`
	State      *stateReport `json:"state,omitempty"`
}

// stateReport is a decoded snapshot, of a session or an invoked child.
type stateReport struct {
	Running       bool            `json:"running"`
	Final         string          `json:"final,omitempty"`
	Configuration []string        `json:"configuration"`
	Datamodel     []varReport     `json:"datamodel"`
	Delayed       []delayedReport `json:"delayed_sends"`
	Internal      []eventReport   `json:"internal_queue"`
	External      []eventReport   `json:"external_queue"`
	Children      []childReport   `json:"invoked"`
	Subscriptions []string        `json:"subscriptions,omitempty"`
	Clock         string          `json:"session_clock"`
}

type varReport struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type delayedReport struct {
	SendID string  `json:"sendid,omitempty"`
	Event  string  `json:"event"`
	Target string  `json:"target,omitempty"`
	Type   string  `json:"type,omitempty"`
	Due    string  `json:"due"`
	InS    float64 `json:"in_s"`
	Data   any     `json:"data,omitempty"`
}

type eventReport struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	SendID string `json:"sendid,omitempty"`
	Origin string `json:"origin,omitempty"`
	Data   any    `json:"data,omitempty"`
}

type childReport struct {
	InvokeID string       `json:"invokeid"`
	Type     string       `json:"type,omitempty"`
	Done     bool         `json:"done,omitempty"`
	File     string       `json:"file,omitempty"`
	State    *stateReport `json:"state,omitempty"`
}

func (in *inspector) session(ctx context.Context, id string) error {
	rep := sessionReport{ID: id}
	indexed, err := in.indexedBy(ctx, id)
	if err != nil {
		return err
	}
	rep.Indexed = indexed
	rec, err := in.st.Load(ctx, id)
	if errors.Is(err, persist.ErrNotFound) {
		if len(indexed) > 0 {
			return fmt.Errorf("%w (a stale entry in the index of %s)", err, strings.Join(indexed, ", "))
		}
		return err
	}
	var ttl time.Duration
	if t, terr := in.st.RecordTTLs(ctx, []string{id}); terr == nil {
		ttl = t[0]
	}
	rep.TTLS = seconds(ttl)
	if err != nil {
		rep.Damaged = err.Error()
	} else {
		rep.Doc, rep.DocHash, rep.Type, rep.Owner, rep.Seq = rec.Doc, fmt.Sprintf("%x", rec.DocHash), rec.Type, rec.Node, rec.Seq
		rep.Created, rep.Updated = stamp(rec.Created), stamp(rec.Updated)
		rep.AgeS, rep.IdleS = seconds(in.now.Sub(rec.Created)), seconds(in.now.Sub(rec.Updated))
		rep.Bytes = len(rec.Data)
		rep.Hibernated = touchedSinceWrite(in.st.TTL(), ttl, rec.Updated, in.now)
		doc := in.lib[rec.DocHash]
		if doc != nil {
			rep.DocFile = doc.File
		}
		snap, err := decodeSnapshot(rec)
		if err != nil {
			rep.Damaged = err.Error()
		} else {
			rep.State = in.state(snap, doc, in.now)
		}
	}
	if in.json {
		return in.emit(rep)
	}
	in.printSession(&rep)
	return nil
}

// indexedBy returns the nodes whose index lists the session.
func (in *inspector) indexedBy(ctx context.Context, id string) ([]string, error) {
	nodes, err := in.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		live, gone, err := in.st.IndexMembers(ctx, n)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(live, func(d persist.DueSession) bool { return d.SessionID == id }) || slices.Contains(gone, id) {
			out = append(out, n)
		}
	}
	return out, nil
}

// state reports a decoded snapshot; doc, when known, names its states.
func (in *inspector) state(snap *interp.Snapshot, doc *scxml.Document, now time.Time) *stateReport {
	r := &stateReport{
		Running: snap.Running, Final: snap.Final, Subscriptions: snap.Subs, Clock: stamp(snap.Now),
		Configuration: stateNames(doc, snap.Configuration),
		Datamodel:     []varReport{}, Delayed: []delayedReport{}, Internal: []eventReport{}, External: []eventReport{}, Children: []childReport{},
	}
	for i := range snap.Vars {
		v, err := varValue(&snap.Vars[i])
		if err != nil {
			r.Datamodel = append(r.Datamodel, varReport{Name: snap.Vars[i].Name, Value: "DAMAGED: " + err.Error()})
			continue
		}
		r.Datamodel = append(r.Datamodel, varReport{Name: snap.Vars[i].Name, Value: plainValue(v)})
	}
	for _, d := range snap.Delayed {
		r.Delayed = append(r.Delayed, delayedReport{
			SendID: d.Event.SendID, Event: d.Event.Name, Target: d.Target, Type: d.Type,
			Due: stamp(d.Due), InS: math.Round(d.Due.Sub(now).Seconds()*1000) / 1000, Data: d.Event.Data,
		})
	}
	for _, q := range []struct {
		evs []interp.Event
		to  *[]eventReport
	}{{snap.Internal, &r.Internal}, {snap.External, &r.External}} {
		for _, ev := range q.evs {
			*q.to = append(*q.to, eventReport{Name: ev.Name, Type: ev.Type.String(), SendID: ev.SendID, Origin: ev.Origin, Data: ev.Data})
		}
	}
	for _, c := range snap.Invocation {
		cr := childReport{InvokeID: c.InvokeID, Type: c.Type, Done: c.Done, File: c.File}
		if c.Child != nil {
			var cdoc *scxml.Document
			if len(c.Source) > 0 {
				cdoc, _ = scxml.Parse(c.Source, &scxml.Options{File: c.File, ReadFile: noFiles})
			}
			cr.State = in.state(c.Child, cdoc, now)
		}
		r.Children = append(r.Children, cr)
	}
	return r
}

// noFiles refuses to read files: an invoked child's document is parsed
// from its snapshot to name its states, not run.
func noFiles(name string) ([]byte, error) {
	return nil, fmt.Errorf("%s: not read by inspect", name)
}

// stateNames maps state indices to ids, or to "#<index>" without the
// document.
func stateNames(doc *scxml.Document, idx []int) []string {
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		if doc != nil && i > 0 && i < len(doc.States) {
			out = append(out, doc.States[i].ID)
		} else {
			out = append(out, fmt.Sprintf("#%d", i))
		}
	}
	return out
}

// plainValue turns a snapshot's datamodel value into JSON-like Go values
// for display: what JSON cannot hold is spelled out ("undefined", "NaN",
// dates in RFC 3339, functions as their source, shared objects as
// "[ref #n]").
func plainValue(v interp.Value) any {
	switch v.Kind {
	case interp.KindUndefined:
		return "undefined"
	case interp.KindNull:
		return nil
	case interp.KindBool:
		return v.Bool
	case interp.KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return fmt.Sprint(v.Float)
		}
		return v.Float
	case interp.KindInt:
		return v.Int
	case interp.KindString:
		return v.Str
	case interp.KindObject:
		m := make(orderedObject, 0, len(v.Keys))
		for i, k := range v.Keys {
			if i < len(v.Items) {
				m = append(m, field{k, plainValue(v.Items[i])})
			}
		}
		return m
	case interp.KindArray:
		a := make([]any, len(v.Items))
		for i, it := range v.Items {
			a[i] = plainValue(it)
		}
		return a
	case interp.KindDate:
		return time.UnixMilli(int64(v.Float)).UTC().Format(time.RFC3339Nano)
	case interp.KindFunction:
		return "function: " + v.Str
	case interp.KindRef:
		return fmt.Sprintf("[ref #%d]", v.Int)
	case interp.KindXML:
		if v.Str != "" {
			return "xml: " + v.Str
		}
		return fmt.Sprintf("[xml node #%d]", v.Int)
	}
	return fmt.Sprintf("[value of kind %d]", v.Kind)
}

// orderedObject is an object whose keys keep the datamodel's order in
// JSON.
type orderedObject []field

type field struct {
	k string
	v any
}

// MarshalJSON writes the object with its keys in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func oneLine(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (in *inspector) printSession(r *sessionReport) {
	w := in.out
	fmt.Fprintf(w, "session %s\n", r.ID)
	if r.Damaged != "" {
		fmt.Fprintf(w, "  DAMAGED     %s\n", r.Damaged)
	}
	if r.Doc != "" || r.DocHash != "" {
		file := ""
		if r.DocFile != "" {
			file = "  " + r.DocFile
		}
		fmt.Fprintf(w, "  document    %s (sha256 %.12s…)%s\n", r.Doc, r.DocHash, file)
		fmt.Fprintf(w, "  type        %s\n", r.Type)
		fmt.Fprintf(w, "  owner       %s\n", r.Owner)
	}
	fmt.Fprintf(w, "  indexed by  %s\n", strings.Join(r.Indexed, ", "))
	if r.Created != "" {
		fmt.Fprintf(w, "  seq         %d\n", r.Seq)
		fmt.Fprintf(w, "  created     %s (age %s)\n", r.Created, short(time.Duration(r.AgeS)*time.Second))
		fmt.Fprintf(w, "  updated     %s (idle %s)\n", r.Updated, short(time.Duration(r.IdleS)*time.Second))
		fmt.Fprintf(w, "  size        %d bytes\n", r.Bytes)
		fmt.Fprintf(w, "  hibernated  %s\n", yesNo(r.Hibernated))
	}
	fmt.Fprintf(w, "  ttl         %s\n", short(time.Duration(r.TTLS)*time.Second))
	if r.State != nil {
		if r.DocFile == "" {
			fmt.Fprintln(w, "  (states by index: give --doc with the document to name them)")
		}
		printState(w, r.State, "")
	}
}

func printState(w io.Writer, s *stateReport, indent string) {
	status := "running"
	if !s.Running {
		status = "ended"
		if s.Final != "" {
			status += " in " + s.Final
		}
	}
	fmt.Fprintf(w, "%sstatus: %s; session clock %s\n", indent, status, s.Clock)
	fmt.Fprintf(w, "%sconfiguration: %s\n", indent, strings.Join(s.Configuration, " "))
	fmt.Fprintf(w, "%sdatamodel:\n", indent)
	for _, v := range s.Datamodel {
		fmt.Fprintf(w, "%s  %s = %s\n", indent, v.Name, oneLine(v.Value))
	}
	fmt.Fprintf(w, "%sdelayed sends: %s\n", indent, countOrNone(len(s.Delayed)))
	for _, d := range s.Delayed {
		to := ""
		if d.Target != "" {
			to = " to " + d.Target
		}
		id := ""
		if d.SendID != "" {
			id = " (sendid " + d.SendID + ")"
		}
		fmt.Fprintf(w, "%s  %s%s%s due %s (%s)\n", indent, d.Event, to, id, d.Due, inDuration(d.InS))
	}
	for _, q := range []struct {
		name string
		evs  []eventReport
	}{{"internal queue", s.Internal}, {"external queue", s.External}} {
		fmt.Fprintf(w, "%s%s: %s\n", indent, q.name, countOrNone(len(q.evs)))
		for _, ev := range q.evs {
			data := ""
			if ev.Data != nil {
				data = " " + oneLine(ev.Data)
			}
			fmt.Fprintf(w, "%s  %s (%s)%s\n", indent, ev.Name, ev.Type, data)
		}
	}
	if len(s.Subscriptions) > 0 {
		fmt.Fprintf(w, "%ssubscriptions: %s\n", indent, strings.Join(s.Subscriptions, " "))
	}
	fmt.Fprintf(w, "%sinvoked: %s\n", indent, countOrNone(len(s.Children)))
	for _, c := range s.Children {
		done := ""
		if c.Done {
			done = ", done"
		}
		fmt.Fprintf(w, "%s  %s (%s%s) %s\n", indent, c.InvokeID, c.Type, done, c.File)
		if c.State != nil {
			printState(w, c.State, indent+"    ")
		}
	}
}

func countOrNone(n int) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

func inDuration(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Millisecond)
	if d < 0 {
		return "overdue by " + (-d).String()
	}
	return "in " + d.String()
}

// delete removes a session's record and its index entries, after asking.
func (in *inspector) delete(ctx context.Context, id string, yes bool, stderr io.Writer) error {
	indexed, err := in.indexedBy(ctx, id)
	if err != nil {
		return err
	}
	rec, lerr := in.st.Load(ctx, id)
	what := ""
	switch {
	case lerr == nil:
		what = fmt.Sprintf("session %s (document %s, owner %s, seq %d, updated %s)", id, rec.Doc, rec.Node, rec.Seq, stamp(rec.Updated))
		if !slices.Contains(indexed, rec.Node) {
			indexed = append(indexed, rec.Node)
		}
	case errors.Is(lerr, persist.ErrNotFound) && len(indexed) == 0:
		return lerr
	case errors.Is(lerr, persist.ErrNotFound):
		what = fmt.Sprintf("the stale index entries of session %s", id)
	default:
		what = fmt.Sprintf("the damaged record of session %s (%v)", id, lerr)
	}
	// One Delete removes the record and the session's entries in every
	// node's index; it writes as the owner (or a node indexing it) with
	// the node's current epoch, so that fencing does not refuse it.
	w := persist.Writer{}
	switch {
	case rec != nil:
		w.Node = rec.Node
	case len(indexed) > 0:
		w.Node = indexed[0]
	}
	if w.Node != "" {
		if w.Epoch, err = in.st.Epoch(ctx, w.Node); err != nil {
			return err
		}
	}
	if len(indexed) == 0 {
		indexed = []string{"no node"}
	}
	if !yes {
		fmt.Fprintf(in.out, "delete %s, indexed by %s? [y/N] ", what, strings.Join(indexed, ", "))
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(in.out, "not deleted")
			return nil
		}
	}
	if err := in.st.Delete(ctx, w, id); err != nil {
		return err
	}
	fmt.Fprintf(in.out, "deleted %s\n", what)
	return nil
}
