// Package deploy holds the Kubernetes manifests of a sharded stress run;
// its test checks that they parse and agree with each other and with
// mmrace's flags.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Image   string   `yaml:"image"`
					Command []string `yaml:"command"`
					Args    []string `yaml:"args"`
					Env     []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func read(t *testing.T, file string) []manifest {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	var out []manifest
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, m)
	}
}

// TestStressJob: the stress Job is an Indexed Job of N completions, N at a
// time, whose pods run `mmrace stress -shard $JOB_COMPLETION_INDEX/$SHARDS`
// with SHARDS = N, writing JSON to the volume that merge-job.yaml reads.
func TestStressJob(t *testing.T) {
	var claim string
	var job *manifest
	for _, m := range read(t, "stress-job.yaml") {
		switch m.Kind {
		case "PersistentVolumeClaim":
			claim = m.Metadata.Name
		case "Job":
			job = &m
		default:
			t.Errorf("unexpected kind %q", m.Kind)
		}
	}
	if job == nil || claim == "" {
		t.Fatal("stress-job.yaml: want a Job and a PersistentVolumeClaim")
	}
	s := job.Spec
	if job.APIVersion != "batch/v1" || s.CompletionMode != "Indexed" || s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("want an Indexed batch/v1 Job with completions = parallelism, got %+v", s)
	}
	n := *s.Completions
	pod := s.Template.Spec
	if pod.RestartPolicy != "Never" || len(pod.Containers) != 1 {
		t.Fatalf("want one container, restartPolicy Never: %+v", pod)
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["SHARDS"] != strconv.Itoa(n) {
		t.Errorf("SHARDS=%q, want the completions, %d", env["SHARDS"], n)
	}
	script := strings.Join(append(c.Command, c.Args...), " ")
	for _, want := range []string{`mmrace stress -shard "$JOB_COMPLETION_INDEX/$SHARDS"`, "-json", "-out", "/results/shard-$JOB_COMPLETION_INDEX"} {
		if !strings.Contains(script, want) {
			t.Errorf("the pod's command lacks %q:\n%s", want, script)
		}
	}
	checkVolume(t, "stress-job.yaml", pod.Volumes[0].PersistentVolumeClaim.ClaimName, claim, c.VolumeMounts[0].MountPath)

	merge := read(t, "merge-job.yaml")
	if len(merge) != 1 || merge[0].Kind != "Job" {
		t.Fatalf("merge-job.yaml: want one Job")
	}
	mp := merge[0].Spec.Template.Spec
	mc := mp.Containers[0]
	if !strings.Contains(strings.Join(mc.Args, " "), "mmrace merge -out /results/merged /results/shard-*/summary.json") {
		t.Errorf("merge-job.yaml does not merge the shards' summaries: %q", mc.Args)
	}
	checkVolume(t, "merge-job.yaml", mp.Volumes[0].PersistentVolumeClaim.ClaimName, claim, mc.VolumeMounts[0].MountPath)
	if mc.Image != c.Image {
		t.Errorf("merge image %q, stress image %q", mc.Image, c.Image)
	}
}

func checkVolume(t *testing.T, file, claim, want, mount string) {
	t.Helper()
	if claim != want || mount != "/results" {
		t.Errorf("%s: volume claim %q at %q, want %q at /results", file, claim, mount, want)
	}
}

// TestEveryYAMLParses: every manifest here is well-formed YAML.
func TestEveryYAMLParses(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 2 {
		t.Fatalf("manifests: %v", files)
	}
	for _, f := range files {
		for _, m := range read(t, f) {
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Errorf("%s: an object without apiVersion, kind or name: %+v", f, m)
			}
		}
	}
}
