package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
