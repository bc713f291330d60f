// reportd serves daily CSV/Markdown reports and a small HTML status page.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"time"
)

const version = "0.9.3"

func main() {
	var (
		addr        = flag.String("addr", envOr("ADDR", ":8080"), "listen address")
		dataDir     = flag.String("data", envOr("REPORT_DIR", "static"), "directory with report files")
		tmplDir     = flag.String("templates", envOr("TEMPLATE_DIR", "templates"), "directory with HTML templates")
		showVersion = flag.Bool("version", false, "print version and exit")
		selftest    = flag.Bool("selftest", false, "check templates, report files and MIME types, then exit")
		healthcheck = flag.Bool("healthcheck", false, "probe a running server on -addr and exit")
	)
	flag.Parse()

	switch {
	case *showVersion:
		fmt.Printf("reportd %s (%s)\n", version, runtime.Version())
		return
	case *healthcheck:
		os.Exit(probe(*addr))
	}

	srv, err := newServer(*dataDir, *tmplDir)
	if err != nil {
		log.Fatalf("reportd: %v", err)
	}
	if *selftest {
		os.Exit(srv.selftest(os.Stdout))
	}
	log.Printf("reportd %s listening on %s", version, *addr)
	hs := &http.Server{Addr: *addr, Handler: srv.routes(), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(hs.ListenAndServe())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func probe(addr string) int {
	host := addr
	if len(host) > 0 && host[0] == ':' {
		host = "127.0.0.1" + host
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + host + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
