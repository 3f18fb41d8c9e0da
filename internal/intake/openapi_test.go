package intake

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/offboard/offboard/workflows"
)

type openAPI struct {
	OpenAPI    string                               `yaml:"openapi"`
	Paths      map[string]map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Required   []string       `yaml:"required"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"schemas"`
		SecuritySchemes map[string]map[string]any `yaml:"securitySchemes"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	b, err := os.ReadFile("../../docs/openapi/intake.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi/intake.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// Every route the handler serves is in the document, and the document has no other.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, rt := range Routes {
		served[rt.Method+" "+rt.Path] = true
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is served but not in docs/openapi/intake.yaml", rt.Method, rt.Path)
			continue
		}
		if op["responses"] == nil || op["operationId"] == nil {
			t.Errorf("%s %s: no responses or operationId", rt.Method, rt.Path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !served[strings.ToUpper(method)+" "+path] {
				t.Errorf("docs/openapi/intake.yaml documents %s %s, which the handler does not serve", strings.ToUpper(method), path)
			}
		}
	}
	// The routes the tests call are the ones the handler answers (not a 404 or 405).
	s := newTestServer(t)
	for _, rt := range Routes {
		path := strings.ReplaceAll(rt.Path, "{serial}", "F2LXK0A1HG7J")
		a := s.do(t, rt.Method, path, startToken, keepBody)
		if a.status == 404 && path != "/v1/offboardings/F2LXK0A1HG7J" || a.status == 405 {
			t.Errorf("%s %s answers %d", rt.Method, path, a.status)
		}
	}
}

func TestOpenAPIRequestSchemaIsTheParsersFields(t *testing.T) {
	doc := loadOpenAPI(t)
	req := doc.Components.Schemas["OffboardingRequest"]
	var props []string
	for k := range req.Properties {
		props = append(props, k)
	}
	slices.Sort(props)
	fields := slices.Sorted(slices.Values(Fields))
	if !slices.Equal(props, fields) {
		t.Errorf("OffboardingRequest documents %v, ParseRequest takes %v", props, fields)
	}
	if want := []string{"serial", "enrollment", "wipe"}; !slices.Equal(req.Required, want) {
		t.Errorf("required %v, want %v", req.Required, want)
	}
	for _, name := range []string{"bearer", "hmacSignature", "hmacTimestamp"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %s", name)
		}
	}
	if doc.Components.SecuritySchemes["hmacSignature"]["name"] != HeaderSignature ||
		doc.Components.SecuritySchemes["hmacTimestamp"]["name"] != HeaderTimestamp {
		t.Errorf("the signature's headers: %v", doc.Components.SecuritySchemes)
	}
}

// The answers' schemas name the JSON fields of the Go types.
func TestOpenAPISchemasMatchTheTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for schema, v := range map[string]any{
		"Offboarding": Answer{}, "Problem": Problem{}, "Param": Param{},
		"DeviceStatus": workflows.DeviceStatus{}, "StepStatus": workflows.StepStatus{}, "AuditEntry": workflows.AuditEntry{},
	} {
		props := doc.Components.Schemas[schema].Properties
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if _, ok := props[name]; !ok {
				t.Errorf("schema %s lacks %s (%s.%s)", schema, name, rt.Name(), rt.Field(i).Name)
			}
			delete(props, name)
		}
		for name := range props {
			t.Errorf("schema %s documents %s, which %s does not have", schema, name, rt.Name())
		}
	}
}

// Every problem type is an anchor of docs/intake.md, where it is explained.
func TestProblemTypesAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/intake.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(b), -1) {
		anchor := strings.ToLower(strings.TrimSpace(m[1]))
		anchor = regexp.MustCompile(`[^a-z0-9 -]`).ReplaceAllString(anchor, "")
		headings[strings.ReplaceAll(anchor, " ", "-")] = true
	}
	for _, typ := range []string{TypeInvalidRequest, TypeUnauthorized, TypeForbidden, TypeConflict, TypeNotFound, TypeMethodNotAllowed,
		TypeUnsupportedMedia, TypeTooLarge, TypeUnavailable, TypeInternal} {
		anchor := strings.TrimPrefix(typ, ProblemBase)
		if !headings[anchor] {
			t.Errorf("docs/intake.md has no heading for #%s", anchor)
		}
	}
}
