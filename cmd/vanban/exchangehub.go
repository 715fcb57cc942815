package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/exchange/hub"
	_ "vanban/exchange/hubclient" // hub: transport
	_ "vanban/exchange/vdxp"      // vdxp: transport (national axis)
)

// hubFile is the exchange hub's configuration file: the systems that may
// connect and the agencies' names.
type hubFile struct {
	Systems []struct {
		ID         string   `json:"id"`
		Secret     string   `json:"secret"`
		SecretFile string   `json:"secretFile"`
		Organs     []string `json:"organs"`
	} `json:"systems"`
	Agencies []exchange.Agency `json:"agencies"`
}

func loadHubFile(path string) ([]hub.System, []exchange.Agency, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var f hubFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var systems []hub.System
	for _, s := range f.Systems {
		secret := s.Secret
		if s.SecretFile != "" {
			p := s.SecretFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			sb, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, fmt.Errorf("system %s: %w", s.ID, err)
			}
			secret = strings.TrimRight(string(sb), "\r\n")
		}
		systems = append(systems, hub.System{ID: s.ID, Secret: secret, Organs: s.Organs})
	}
	return systems, f.Agencies, nil
}

// runExchangeHub runs the exchange hub on its own: the axis that several
// vanban installations (and other systems speaking its protocol) exchange
// documents through.
func runExchangeHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban exchange-hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("VANBAN_HUB_ADDR", "127.0.0.1:8090"), "address to listen on [env VANBAN_HUB_ADDR]")
	dataDir := fs.String("data-dir", envOr("VANBAN_HUB_DATA_DIR", "./data/hub"), "the hub's database and messages [env VANBAN_HUB_DATA_DIR]")
	configFile := fs.String("config", os.Getenv("VANBAN_HUB_CONFIG"), `JSON file: {"systems":[{"id","secret" or "secretFile","organs":[OrganId...]}],"agencies":[{"organId","name"}]} [env VANBAN_HUB_CONFIG]`)
	maxMB := fs.Int64("max-mb", 256, "largest message accepted, in MiB")
	logFormat := fs.String("log-format", envOr("VANBAN_LOG_FORMAT", "auto"), "json, text or auto")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configFile == "" {
		return fmt.Errorf("--config (VANBAN_HUB_CONFIG) is required: it lists the systems that may connect")
	}
	systems, agencies, err := loadHubFile(*configFile)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	adminSecret, _ := exchange.OSEnv("VANBAN_HUB_ADMIN_SECRET")
	log := hubLogger(*logFormat, stderr)
	h, err := hub.Open(hub.Config{Dir: *dataDir, Systems: systems, Agencies: agencies, AdminSecret: adminSecret,
		Limits: hubLimits(*maxMB), Log: log})
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "exchange hub at http://%s (%d systems; page at /, API under /api/v1/)\n", ln.Addr(), len(systems))
	if adminSecret == "" {
		fmt.Fprintln(stdout, "the page at / is open to anyone who reaches the hub: set VANBAN_HUB_ADMIN_SECRET to protect it")
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return serveUntilDone(ctx, srv, ln, 30*time.Second)
}

func hubLimits(maxMB int64) (l edxml.Limits) {
	l.MaxBytes = maxMB << 20
	l.MaxAttachmentSize = maxMB << 20
	return l
}

func hubLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// devExchangePrefix is where the embedded default mounts its exchange hub.
const devExchangePrefix = devPrefix + "/exchange"

// mountDevExchange mounts an exchange hub under /dev/exchange/ for the
// embedded default, keeping its data in dir/exchange. One system,
// "vanban-local", acts for every organization of this installation (organs
// "*"), so they can exchange documents with each other at once. It returns
// the transport URI that reaches it and the hub, to be closed at shutdown.
func mountDevExchange(router *gin.Engine, dir, base string, log *slog.Logger) (string, *hub.Hub, error) {
	secretFile := filepath.Join(dir, "exchange-hub.secret")
	secret, err := generatedSecret(secretFile)
	if err != nil {
		return "", nil, err
	}
	h, err := hub.Open(hub.Config{Dir: filepath.Join(dir, "exchange"),
		Systems: []hub.System{{ID: "vanban-local", Secret: secret, Organs: []string{"*"}}},
		Log:     log.With("component", "exchange-hub")})
	if err != nil {
		return "", nil, err
	}
	router.Any(devExchangePrefix+"/*path", gin.WrapH(http.StripPrefix(devExchangePrefix, h.Handler())))
	uri := "hub:" + base + devExchangePrefix + "/?system=vanban-local&poll=1s&secret-file=" + url.QueryEscape(secretFile)
	return uri, h, nil
}
