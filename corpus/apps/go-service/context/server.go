package main

import (
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type server struct {
	dataDir string
	page    *template.Template
}

type report struct {
	Name string
	Type string
	Size int64
}

func newServer(dataDir, tmplDir string) (*server, error) {
	page, err := template.ParseFiles(filepath.Join(tmplDir, "status.html"))
	if err != nil {
		return nil, fmt.Errorf("loading templates: %w", err)
	}
	return &server{dataDir: dataDir, page: page}, nil
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q}`, version)
	})
	mux.HandleFunc("/", s.status)
	mux.Handle("/reports/", http.StripPrefix("/reports/", http.FileServer(http.Dir(s.dataDir))))
	return mux
}

// reports lists the report files with the Content-Type they will be served with.
// Go's built-in table has no entry for .csv or .md: those come from /etc/mime.types.
func (s *server) reports() ([]report, error) {
	entries, err := os.ReadDir(s.dataDir)
	if err != nil {
		return nil, err
	}
	var out []report
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, report{Name: e.Name(), Type: mime.TypeByExtension(filepath.Ext(e.Name())), Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	list, err := s.reports()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	s.page.Execute(w, map[string]interface{}{"Version": version, "Reports": list})
}

func (s *server) selftest(out io.Writer) int {
	fmt.Fprintf(out, "reportd %s\n", version)
	list, err := s.reports()
	if err != nil {
		fmt.Fprintf(out, "reports: %v\n", err)
		return 1
	}
	rc := 0
	for _, rep := range list {
		t := rep.Type
		if t == "" {
			t = "unknown (is /etc/mime.types installed?)"
			rc = 1
		}
		fmt.Fprintf(out, "%s %d %s\n", rep.Name, rep.Size, t)
	}
	rec := httptest.NewRecorder()
	s.routes().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Fprintf(out, "status page %d %t\n", rec.Code, strings.Contains(rec.Body.String(), "daily.csv"))
	if rec.Code != http.StatusOK {
		rc = 1
	}
	return rc
}
