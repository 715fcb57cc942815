package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"vanban/internal/audit"
	"vanban/internal/backup"
	"vanban/internal/config"
	"vanban/internal/store"
	"vanban/storage"
)

// runBackup writes the embedded installation (SQLite database, blobs, the
// data directory's keys and anchors) as one archive, while serve may run.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "archive to write (tar; - for standard output); written to a temporary file and renamed when complete")
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "vanban backup: --out FILE is required (- for standard output)")
		return exitError{2}
	}
	dbPath, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:")
	if !ok {
		return &config.Error{Setting: "VANBAN_DATABASE_URL", Value: "postgres://…", Reason: "vanban backup copies the embedded SQLite database; " +
			"back PostgreSQL up with pg_dump and the bucket with its versioning and Object Lock, and keep VANBAN_SECRET_KEY " +
			"(README, \"Backup and restore\")"}
	}
	dbPath, _, _ = strings.Cut(dbPath, "?")
	dbPath = strings.TrimPrefix(dbPath, "//")
	if _, err := os.Stat(dbPath); err != nil {
		return &config.Error{Setting: "VANBAN_DATABASE_URL", Value: cfg.DatabaseURL, Reason: err.Error()}
	}

	// The key must be the server's: never generate one here.
	secretInDataDir := cfg.SecretKey == ""
	if secretInDataDir {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); err != nil {
			return &config.Error{Setting: "VANBAN_SECRET_KEY", Reason: "no VANBAN_SECRET_KEY and no secret.key in " + cfg.DataDir + ": point --data-dir at the server's data directory"}
		}
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return err
	}

	var outPath string
	if *out != "-" {
		if outPath, err = filepath.Abs(*out); err != nil {
			return err
		}
		if within(cfg.DataDir, outPath) {
			return fmt.Errorf("--out %s is inside the data directory %s: write the archive elsewhere", outPath, cfg.DataDir)
		}
	}

	db, err := store.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := storage.Open(ctx, cfg.StorageURL, storage.OpenOptions{
		AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, LinkSecret: secret, LinkBaseURL: cfg.PublicURL})
	if err != nil {
		return fmt.Errorf("opening storage (VANBAN_STORAGE_URL): %w", err)
	}
	if c, ok := blobs.(io.Closer); ok {
		defer c.Close()
	}

	src := backup.Source{DB: db, Blobs: blobs, DataDir: cfg.DataDir, Skip: dataDirSkips(cfg, dbPath),
		SecretInDataDir: secretInDataDir, AuditKey: audit.HeadKey(secret), Version: version}
	if !secretInDataDir {
		src.Skip = append(src.Skip, "secret.key") // not the key in use
	}
	report := stdout
	var res *backup.Result
	if outPath == "" {
		report = stderr
		res, err = backup.Write(ctx, src, stdout)
	} else {
		src.TempDir = filepath.Dir(outPath)
		res, err = writeArchiveAtomic(outPath, func(w io.Writer) (*backup.Result, error) { return backup.Write(ctx, src, w) })
	}
	if err != nil {
		return err
	}
	files, objects, size := res.Manifest.Stats()
	where := outPath
	if where == "" {
		where = "standard output"
	}
	fmt.Fprintf(report, "backup written to %s: the database (%d migrations, audit log to seq %d, %d object references checked), %d files of the data directory, %d objects (%s), each with its SHA-256 in the manifest\n",
		where, len(res.Manifest.Migrations), res.Manifest.AuditHeadSeq, res.References, files, objects, humanBytes(size))
	if secretInDataDir {
		fmt.Fprintln(report, "the secret key (secret.key) is in the archive: keep the archive as secret as the key")
	} else {
		fmt.Fprintln(report, "the secret key is NOT in the archive (it comes from VANBAN_SECRET_KEY): keep it with the archive, restore and serve need it")
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(report, "warning: left out %s\n", s)
	}
	if res.AuditProblem != "" {
		fmt.Fprintf(report, "WARNING: the audit log of this installation does not verify: %s\n", res.AuditProblem)
	}
	return nil
}

// dataDirSkips names the top-level entries of the data directory that are
// not copied as files: the live database (snapshotted instead), the local
// blob root (copied object by object) and the cache (rebuilt).
func dataDirSkips(cfg *config.Config, dbPath string) []string {
	var skip []string
	top := func(p string) {
		p, err := filepath.Abs(p)
		if err != nil || !within(cfg.DataDir, p) {
			return
		}
		rel, err := filepath.Rel(cfg.DataDir, p)
		if err != nil {
			return
		}
		first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		skip = append(skip, first)
	}
	top(dbPath)
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		top(dbPath + suf)
	}
	if u, err := url.Parse(cfg.StorageURL); err == nil && u.Scheme == "file" {
		top(u.Path)
	}
	top(cfg.CacheDir)
	return skip
}

// within tells whether p is dir or inside it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// writeArchiveAtomic runs write into a temporary file beside path and
// renames it to path only when write succeeded and the bytes are on disk.
func writeArchiveAtomic(path string, write func(io.Writer) (*backup.Result, error)) (*backup.Result, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	res, err := write(f)
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return nil, err
	}
	ok = true
	return res, nil
}

// runRestore restores an archive of "vanban backup" into an empty data
// directory, in the embedded layout.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "archive written by vanban backup (- for standard input)")
	acceptBreak := fs.Bool("accept-audit-break", false, "restore even if the archive's audit log does not verify (the break is reported)")
	cfg, err := config.Load(fs, args, nil)
	if err != nil {
		return err
	}
	if *in == "" {
		fmt.Fprintln(stderr, "vanban restore: --in FILE is required (- for standard input)")
		return exitError{2}
	}
	if cfg.DatabaseURL != "sqlite:"+filepath.Join(cfg.DataDir, "vanban.db") {
		return &config.Error{Setting: "VANBAN_DATABASE_URL", Reason: "vanban restore writes the embedded layout (<data-dir>/vanban.db): leave it unset and choose the directory with --data-dir"}
	}
	if cfg.StorageURL != "file://"+filepath.Join(cfg.DataDir, "blobs") {
		return &config.Error{Setting: "VANBAN_STORAGE_URL", Reason: "vanban restore writes the embedded layout (<data-dir>/blobs): leave it unset and choose the directory with --data-dir"}
	}
	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	opts := backup.RestoreOptions{ParseSecret: parseSecretFile, AcceptAuditBreak: *acceptBreak}
	if cfg.SecretKey != "" {
		opts.SecretKey = []byte(cfg.SecretKey)
	}
	res, err := backup.Restore(ctx, r, cfg.DataDir, opts)
	if err != nil {
		if errors.Is(err, backup.ErrNotEmpty) {
			return &config.Error{Setting: "VANBAN_DATA_DIR", Value: cfg.DataDir, Reason: err.Error()}
		}
		return fmt.Errorf("%w; nothing was restored into %s", err, cfg.DataDir)
	}
	m := res.Manifest
	files, objects, size := m.Stats()
	fmt.Fprintf(stdout, "restored the backup of %s (vanban %s) into %s: the database (audit log to seq %d), %d files, %d objects (%s), every entry matching its SHA-256\n",
		m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), m.Vanban, cfg.DataDir, m.AuditHeadSeq, files, objects, humanBytes(size))
	switch {
	case res.AuditProblem != "":
		fmt.Fprintf(stdout, "WARNING: the restored audit log does not verify: %s\n", res.AuditProblem)
	case res.Audit.Sealed:
		fmt.Fprintf(stdout, "audit log intact: %d entries, the head's seal valid under the restored key, %d anchors\n", res.Audit.Entries, res.Audit.Anchors)
	default:
		fmt.Fprintf(stdout, "audit chain intact (%d entries); its seal was not checked: the key is not in the archive and VANBAN_SECRET_KEY is not set\n", res.Audit.Entries)
	}
	if m.SecretKey == backup.SecretInEnvironment {
		fmt.Fprintln(stdout, "serve it with the same VANBAN_SECRET_KEY the backed-up installation used")
	}
	fmt.Fprintf(stdout, "start it with: vanban serve --data-dir %s\n", cfg.DataDir)
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
