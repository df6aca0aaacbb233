package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	engine "github.com/orsgo/engine"
)

func runCLI(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return status, out.String(), errb.String()
}

func writeDoc(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// --help exits 0 and lists every flag of the command on stdout.
func TestHelpListsEveryFlag(t *testing.T) {
	ext := []string{"-ext", "-queue", "-ignore-unknown-actions"}
	for cmd, flags := range map[string][]string{
		"run":      append([]string{"-event", "-wait"}, ext...),
		"validate": ext,
		"bench":    append([]string{"-event", "-setup", "-sessions", "-events", "-store", "-config", "-hibernate-after", "-json"}, ext...),
		"replay":   {"-json", "-timeout", "-restore-every-step", "-expect", "-parallel"},
	} {
		status, out, errOut := runCLI(t, cmd, "--help")
		if status != 0 || errOut != "" {
			t.Errorf("%s --help: status %d, stderr %q", cmd, status, errOut)
		}
		for _, f := range flags {
			if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
				t.Errorf("%s --help does not list %s:\n%s", cmd, f, out)
			}
		}
	}
	if status, out, _ := runCLI(t, "--help"); status != 0 || !strings.Contains(out, "--ignore-unknown-actions") {
		t.Errorf("--help: status %d\n%s", status, out)
	}
}

const queueDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="urn:orsgo:queue" datamodel="ecmascript" initial="s">
  <state id="s">
    <onentry><queue:submit group="'VIP'"/></onentry>
    <transition event="queue.routed" target="talk"><log label="agent" expr="_event.data.agent"/></transition>
  </state>
  <state id="talk"/>
</scxml>`

// run, validate and bench load the built-in queue extension; validate
// rejects what run rejects, and expressions that do not compile.
func TestExtensionsOnTheCommandLine(t *testing.T) {
	q := writeDoc(t, "queue.scxml", queueDoc)
	if status, _, errOut := runCLI(t, "run", q); status != 1 || !strings.Contains(errOut, "queue.scxml:3:14") {
		t.Errorf("run without the extension: status %d, stderr %q", status, errOut)
	}
	if status, out, errOut := runCLI(t, "run", "--queue", "VIP=a1", q); status != 0 || !strings.Contains(out, "log agent: a1") || !strings.Contains(out, "-> talk") {
		t.Errorf("run --queue: status %d\n%s%s", status, out, errOut)
	}
	if status, out, _ := runCLI(t, "validate", q); status != 1 || !strings.Contains(out, "queue.scxml:3:14") {
		t.Errorf("validate without the extension: status %d\n%s", status, out)
	}
	if status, out, _ := runCLI(t, "validate", q, "--ext", "queue"); status != 0 || !strings.Contains(out, "ok") {
		t.Errorf("validate --ext queue: status %d\n%s", status, out)
	}
	bad := writeDoc(t, "bad.scxml", `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:x="urn:x" datamodel="ecmascript" initial="s">
  <state id="s"><onentry><x:thing/><log expr="1 +"/></onentry></state>
</scxml>`)
	status, out, _ := runCLI(t, "validate", "--ignore-unknown-actions", bad)
	if status != 1 || strings.Contains(out, "thing") || !strings.Contains(out, `bad.scxml:2:36: expr "1 +" does not compile`) {
		t.Errorf("validate --ignore-unknown-actions: status %d\n%s", status, out)
	}
	if status, _, errOut := runCLI(t, "run", "--ext", "nosuch", q); status == 0 || !strings.Contains(errOut, `"nosuch": no such extension`) {
		t.Errorf("run --ext nosuch: status %d, %q", status, errOut)
	}
	if status, out, errOut := runCLI(t, "bench", q, "--queue", "VIP=a1,a2", "--event", "x", "--sessions", "2", "--events", "1", "--json"); status != 0 {
		t.Errorf("bench --queue: status %d\n%s%s", status, out, errOut)
	}
}

// A program that embeds the command line registers its own extension,
// which run and validate then load with --ext like the built-in queue.
func TestRegisterExtension(t *testing.T) {
	build := func() *engine.Extension {
		return &engine.Extension{
			Name:      "acdtest",
			Namespace: "urn:example:acdtest",
			Actions: map[string]engine.Action{
				"route": func(c *engine.ActionContext) error { return c.Assign("target", "agent-7") },
			},
		}
	}
	if err := RegisterExtension("acdtest", build); err != nil {
		t.Fatal(err)
	}
	if err := RegisterExtension("acdtest", build); !errors.Is(err, ErrExtensionName) {
		t.Fatalf("registering a name twice: %v", err)
	}
	if err := RegisterExtension("queue", build); !errors.Is(err, ErrExtensionName) {
		t.Fatalf("registering over the built-in queue: %v", err)
	}
	doc := writeDoc(t, "acd.scxml", `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:acd="urn:example:acdtest" datamodel="ecmascript" initial="s">
  <datamodel><data id="target"/></datamodel>
  <state id="s"><onentry><acd:route/><log label="target" expr="target"/></onentry></state>
</scxml>`)
	if status, out, _ := runCLI(t, "validate", doc); status != 1 || !strings.Contains(out, "acd.scxml:3:26: unknown executable content <route>") {
		t.Errorf("validate without --ext: status %d\n%s", status, out)
	}
	if status, out, errOut := runCLI(t, "run", "--ext", "acdtest", doc); status != 0 || !strings.Contains(out, "log target: agent-7") {
		t.Errorf("run --ext acdtest: status %d\n%s%s", status, out, errOut)
	}
	if status, out, _ := runCLI(t, "run", "--help"); status != 0 || !strings.Contains(out, "acdtest") {
		t.Errorf("--help: %d\n%s", status, out)
	}
}
