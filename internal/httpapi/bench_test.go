package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
	"vanban/signing"
	"vanban/storage/local"
)

// The read-path benchmark: GET /api/v1/inbox and GET /api/v1/documents over
// real HTTP against a database holding benchDocs documents (default 100,000;
// VANBAN_BENCH_DOCS overrides). Seeding is a bulk insert done once per
// machine: the seeded database is kept as a cache (a PostgreSQL template
// database, an SQLite file under the user cache directory) named by the seed
// version and a hash of the migrations, and every run works on a fresh copy.
// Seeding happens only inside benchmarks, never in ordinary tests.

// benchSeedVersion changes whenever seedDocuments generates different data.
const benchSeedVersion = "s1"

func benchDocs() int {
	if v := os.Getenv("VANBAN_BENCH_DOCS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// schemaHash names the schema the seeded cache was built with: the
// migration files and dialect.go (which holds the per-dialect ones).
func schemaHash(tb testing.TB) string {
	tb.Helper()
	h := sha256.New()
	files, err := filepath.Glob("../store/migrations/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("migrations: %v", err)
	}
	files = append(files, "../store/dialect.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// benchEnv is a running API over a seeded database.
type benchEnv struct {
	srv    *httptest.Server
	tokens map[string]string // by username
	ids    map[string]string // user and unit ids by username / unit abbrev
	symbol string            // the number and symbol of one issued document
}

// ----- seeding -----

type seedUnit struct {
	abbrev, name, parent string
}

var seedUnitsA = []seedUnit{
	{"VP", "Văn phòng", ""},
	{"HCTC", "Phòng Hành chính - Tổ chức", "VP"},
	{"MC", "Bộ phận Một cửa", "VP"},
	{"TC", "Phòng Tài chính - Kế hoạch", ""},
	{"TP", "Phòng Tư pháp", ""},
	{"KTHT", "Phòng Kinh tế - Hạ tầng", ""},
	{"GDDT", "Phòng Giáo dục và Đào tạo", ""},
	{"YT", "Phòng Y tế", ""},
	{"NV", "Phòng Nội vụ", ""},
	{"TNMT", "Phòng Tài nguyên và Môi trường", ""},
}

var seedTypes = []struct{ code, name, abbrev string }{
	{"cong-van", "Công văn", ""}, {"cong-van", "Công văn", ""}, {"cong-van", "Công văn", ""},
	{"quyet-dinh", "Quyết định", "QĐ"}, {"quyet-dinh", "Quyết định", "QĐ"},
	{"ke-hoach", "Kế hoạch", "KH"}, {"thong-bao", "Thông báo", "TB"}, {"bao-cao", "Báo cáo", "BC"},
	{"to-trinh", "Tờ trình", "TTr"}, {"giay-moi", "Giấy mời", "GM"}, {"huong-dan", "Hướng dẫn", "HD"},
}

var seedTopics = []string{
	"phê duyệt kế hoạch sử dụng đất năm %d", "ban hành Quy chế làm việc của Ủy ban nhân dân",
	"tổ chức Hội nghị tổng kết công tác năm %d", "triển khai chương trình chuyển đổi số",
	"kiện toàn Ban chỉ đạo phòng, chống thiên tai", "giao chỉ tiêu kế hoạch phát triển kinh tế - xã hội năm %d",
	"tăng cường công tác phòng cháy, chữa cháy", "đề nghị hỗ trợ kinh phí sửa chữa trường học",
	"báo cáo tình hình thực hiện dự toán ngân sách quý %d", "cấp giấy chứng nhận quyền sử dụng đất",
	"xử lý vi phạm hành chính trong lĩnh vực xây dựng", "thành lập Tổ công tác cải cách thủ tục hành chính",
	"điều chỉnh quy hoạch chi tiết khu dân cư", "khen thưởng tập thể, cá nhân có thành tích xuất sắc",
	"phòng, chống dịch bệnh truyền nhiễm mùa mưa", "tuyển dụng viên chức giáo dục năm học %d",
	"thu hồi đất để thực hiện dự án đường giao thông", "chấn chỉnh kỷ luật, kỷ cương hành chính",
	"bảo đảm an toàn giao thông dịp Tết Nguyên đán", "hướng dẫn quyết toán vốn đầu tư công",
}

var seedPlaces = []string{"xã Thành Long", "thị trấn Châu Thành", "xã Hảo Đước", "xã An Cơ", "xã Trí Bình",
	"xã Đồng Khởi", "xã Biên Giới", "xã Hòa Hội", "ấp Bến Đình", "khu phố 3"}

var seedSenders = []string{"Sở Tài chính", "Sở Nội vụ", "Sở Giáo dục và Đào tạo", "Ủy ban nhân dân tỉnh",
	"Sở Tài nguyên và Môi trường", "Công an huyện", "Bảo hiểm xã hội huyện", "Kho bạc Nhà nước huyện"}

// outgoing and incoming states with their weights (per mille).
var seedOutStates = []struct {
	s document.State
	w int
}{
	{document.StateArchived, 480}, {document.StateIssued, 250}, {document.StateDraft, 80},
	{document.StateInReview, 50}, {document.StateAwaitingSignature, 30}, {document.StateSigning, 5},
	{document.StateSigned, 20}, {document.StateNumbered, 20}, {document.StateSealed, 15},
	{document.StateWithdrawn, 30},
}

var seedInStates = []struct {
	s document.State
	w int
}{
	{document.StateArchived, 450}, {document.StateCompleted, 150}, {document.StateRegistered, 80},
	{document.StateRouted, 70}, {document.StateAssigned, 110}, {document.StateInProgress, 140},
}

func pick[T any](r *rand.Rand, xs []struct {
	s T
	w int
}) T {
	n := r.IntN(1000)
	for _, x := range xs {
		if n < x.w {
			return x.s
		}
		n -= x.w
	}
	return xs[0].s
}

// seedOrganizations creates the organizations, units and people through
// the store, as an administrator would.
func seedOrganizations(tb testing.TB, db *store.DB) {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	user := func(org *document.Organization, username, name, unit string, roles ...document.Role) {
		u := &document.User{OrgID: org.ID, Username: username, FullName: name, Title: "Chuyên viên"}
		must(db.CreateUser(ctx, u))
		for _, r := range roles {
			must(db.GrantRole(ctx, u.ID, unit, r))
		}
	}
	a := &document.Organization{Abbrev: "UBND", Name: "Ủy ban nhân dân huyện Châu Thành", Place: "Châu Thành"}
	must(db.CreateOrganization(ctx, a))
	units := map[string]string{"": a.ID}
	for _, su := range seedUnitsA {
		u := &document.Unit{ParentID: units[su.parent], Abbrev: su.abbrev, Name: su.name}
		must(db.CreateUnit(ctx, u))
		units[su.abbrev] = u.ID
	}
	for _, su := range seedUnitsA {
		for i := 1; i <= 4; i++ {
			user(a, fmt.Sprintf("cv-%s-%d", strings.ToLower(su.abbrev), i), fmt.Sprintf("Nguyễn Văn %s %d", su.abbrev, i), units[su.abbrev], document.RoleDrafter)
		}
	}
	for i := 1; i <= 3; i++ {
		user(a, fmt.Sprintf("thamdinh-%d", i), fmt.Sprintf("Trần Thị Duyệt %d", i), a.ID, document.RoleReviewer)
		user(a, fmt.Sprintf("lanhdao-%d", i), fmt.Sprintf("Lê Văn Chủ %d", i), a.ID, document.RoleSigner)
	}
	user(a, "vanthu", "Phạm Thị Thư", a.ID, document.RoleClerk)
	user(a, "vanthu-vp", "Đỗ Thị Lan", units["VP"], document.RoleClerk)
	user(a, "luutru", "Hoàng Văn Lưu", a.ID, document.RoleArchivist)

	b := &document.Organization{Abbrev: "SYT", Name: "Sở Y tế", Place: "Bến Tre"}
	must(db.CreateOrganization(ctx, b))
	user(b, "syt-cv", "Võ Văn Bảy", b.ID, document.RoleDrafter)
	user(b, "syt-lanhdao", "Ngô Thị Tám", b.ID, document.RoleSigner)
	user(b, "syt-vanthu", "Bùi Văn Chín", b.ID, document.RoleClerk)
}

// sqlDB opens a plain database/sql handle on a store URL, for bulk loading.
func sqlDB(tb testing.TB, rawURL string) (*sql.DB, store.Dialect) {
	tb.Helper()
	var db *sql.DB
	var err error
	var d store.Dialect
	if p, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		db, err = sql.Open("sqlite", p+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
		d = store.SQLite
	} else {
		db, err = sql.Open("postgres", rawURL)
		d = store.Postgres
	}
	if err != nil {
		tb.Fatal(err)
	}
	return db, d
}

// seedDocuments bulk-inserts n documents (90 % in the first organization)
// with their review steps, in one transaction.
func seedDocuments(tb testing.TB, rawURL string, n int) {
	tb.Helper()
	ctx := context.Background()
	db, dialect := sqlDB(tb, rawURL)
	defer db.Close()
	q := func(query string, args ...any) *sql.Rows {
		tb.Helper()
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			tb.Fatal(err)
		}
		return rows
	}
	type orgData struct {
		id, abbrev string
		units      []string
		drafters   map[string][]string // by unit id
		reviewers  []string
		leaders    []string
		handlers   []string
	}
	var orgs []*orgData
	rows := q(`SELECT id, abbrev FROM organizations ORDER BY created_at`)
	for rows.Next() {
		o := &orgData{drafters: map[string][]string{}}
		if err := rows.Scan(&o.id, &o.abbrev); err != nil {
			tb.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	rows.Close()
	for _, o := range orgs {
		rows := q(rebind(dialect, `SELECT u.id, g.unit_id, g.role FROM users u JOIN role_grants g ON g.user_id = u.id WHERE u.org_id = ? ORDER BY u.username`), o.id)
		for rows.Next() {
			var uid, unit, role string
			if err := rows.Scan(&uid, &unit, &role); err != nil {
				tb.Fatal(err)
			}
			switch document.Role(role) {
			case document.RoleDrafter:
				if len(o.drafters[unit]) == 0 {
					o.units = append(o.units, unit)
				}
				o.drafters[unit] = append(o.drafters[unit], uid)
				o.handlers = append(o.handlers, uid)
			case document.RoleReviewer:
				o.reviewers = append(o.reviewers, uid)
			case document.RoleSigner:
				o.leaders = append(o.leaders, uid)
			}
		}
		rows.Close()
		if len(o.reviewers) == 0 {
			o.reviewers = o.leaders
		}
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const docCols = 24
	docSQL := `INSERT INTO documents (id, org_id, unit_id, direction, type_code, subject, urgency, confidentiality, state,
		created_by, created_at, updated_at, signer_id, number, symbol, numbered_at, issued_at, sender_name, sender_symbol,
		received_at, leader_id, handler_id, deadline, search_text) VALUES `
	stepSQL := `INSERT INTO review_steps (document_id, round, seq, reviewer_id, decision, comment, decided_at) VALUES `
	var docArgs, stepArgs []any
	var docRows, stepRows int
	flush := func(force bool) {
		tb.Helper()
		if docRows > 0 && (force || docRows >= 400) {
			if _, err := tx.ExecContext(ctx, rebind(dialect, docSQL+values(docRows, docCols)), docArgs...); err != nil {
				tb.Fatalf("insert documents: %v", err)
			}
			docArgs, docRows = docArgs[:0], 0
		}
		// Steps go in only after their documents.
		if stepRows > 0 && docRows == 0 {
			if _, err := tx.ExecContext(ctx, rebind(dialect, stepSQL+values(stepRows, 7)), stepArgs...); err != nil {
				tb.Fatalf("insert review steps: %v", err)
			}
			stepArgs, stepRows = stepArgs[:0], 0
		}
	}
	r := rand.New(rand.NewPCG(2026, 5))
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	span := 3 * 365 * 24 * time.Hour
	numbers := map[string]int64{}
	for i := 0; i < n; i++ {
		o := orgs[0]
		if len(orgs) > 1 && i%10 == 9 {
			o = orgs[1]
		}
		// Evenly spread over three years, newest last, with jitter.
		created := end.Add(-span + time.Duration(int64(span)/int64(n)*int64(i)) + time.Duration(r.IntN(3600))*time.Second)
		us := created.UnixMicro()
		unit := o.units[r.IntN(len(o.units))]
		drafter := o.drafters[unit][r.IntN(len(o.drafters[unit]))]
		typ := seedTypes[r.IntN(len(seedTypes))]
		topic := seedTopics[r.IntN(len(seedTopics))]
		if strings.Contains(topic, "%d") {
			topic = fmt.Sprintf(topic, created.Year()+r.IntN(2))
		}
		subject := typ.name + " về việc " + topic + " trên địa bàn " + seedPlaces[r.IntN(len(seedPlaces))]
		conf := document.ConfidentialityNormal
		switch c := r.IntN(1000); {
		case c < 15:
			conf = document.ConfidentialitySecret
		case c < 20:
			conf = document.ConfidentialityTop
		}
		urg := document.UrgencyNormal
		if r.IntN(10) == 0 {
			urg = document.UrgencyUrgent
		}
		id := fmt.Sprintf("bench%08d%06x", i, r.IntN(1<<24))
		leader := o.leaders[r.IntN(len(o.leaders))]
		var state document.State
		var direction document.Direction
		var signer, leaderID, handler, number, numberedAt, issuedAt, receivedAt, deadline any
		symbol, senderName, senderSymbol := "", "", ""
		if r.IntN(10) < 7 {
			direction = document.Outgoing
			state = pick(r, seedOutStates)
			signer = leader
			switch state {
			case document.StateNumbered, document.StateSealed, document.StateIssued, document.StateArchived:
				key := o.id + strconv.Itoa(created.Year())
				numbers[key]++
				number = numbers[key]
				s := fmt.Sprintf("%d/%s-%s", numbers[key], typ.abbrev, o.abbrev)
				if typ.abbrev == "" {
					s = fmt.Sprintf("%d/%s", numbers[key], o.abbrev)
				}
				symbol, numberedAt = s, us+3600e6
				if state != document.StateNumbered && state != document.StateSealed {
					issuedAt = us + 7200e6
				}
			}
		} else {
			direction = document.Incoming
			state = pick(r, seedInStates)
			senderName = seedSenders[r.IntN(len(seedSenders))]
			senderSymbol = fmt.Sprintf("%d/%s-%s", r.IntN(3000)+1, typ.abbrev, "STC")
			key := o.id + "in" + strconv.Itoa(created.Year())
			numbers[key]++
			number, receivedAt = numbers[key], us
			if state != document.StateRegistered {
				leaderID = leader
			}
			if state == document.StateAssigned || state == document.StateInProgress || state == document.StateCompleted || state == document.StateArchived {
				handler = o.handlers[r.IntN(len(o.handlers))]
				// Most deadlines are ten days out; a few open ones are late.
				deadline = us + 10*24*3600e6
			}
		}
		d := &document.Document{Subject: subject, Symbol: symbol, SenderName: senderName}
		docArgs = append(docArgs, id, o.id, unit, string(direction), typ.code, subject, string(urg), string(conf), string(state),
			drafter, us, us+60e6, signer, number, symbol, numberedAt, issuedAt, senderName, senderSymbol,
			receivedAt, leaderID, handler, deadline, document.SearchText(d))
		docRows++
		// Review steps: every outgoing document past the draft went
		// through one or two reviewers; those in review wait on one.
		if direction == document.Outgoing && state != document.StateDraft {
			steps := 1 + r.IntN(2)
			for s := 1; s <= steps; s++ {
				rev := o.reviewers[(i+s)%len(o.reviewers)]
				decision, decided := "approve", any(us+int64(s)*1800e6)
				if state == document.StateInReview && s == steps {
					decision, decided = "", nil
				}
				stepArgs = append(stepArgs, id, 1, s, rev, decision, "", decided)
				stepRows++
			}
		}
		flush(false)
	}
	flush(true)
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

func values(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

func rebind(d store.Dialect, query string) string {
	if d != store.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ----- the seeded database cache -----

// seededURL returns the URL of a fresh copy of the seeded database for
// engine ("postgres" or "sqlite"), seeding the cache first if needed.
func seededURL(b *testing.B, engine string) string {
	b.Helper()
	key := fmt.Sprintf("vanban_bench_%s_%d_%s", benchSeedVersion, benchDocs(), schemaHash(b))
	seed := func(u string) {
		start := time.Now()
		db := pgtest.Open(b, u)
		seedOrganizations(b, db)
		db.Close()
		seedDocuments(b, u, benchDocs())
		b.Logf("seeded %d documents into %s in %s", benchDocs(), engine, time.Since(start).Round(time.Millisecond))
	}
	switch engine {
	case "sqlite":
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		cache := filepath.Join(dir, "vanban-bench", key+".db")
		if _, err := os.Stat(cache); err != nil {
			if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
				b.Fatal(err)
			}
			tmp := cache + ".tmp"
			_ = os.Remove(tmp)
			seed("sqlite:" + tmp)
			// Fold the WAL into the file before it is copied.
			db, _ := sqlDB(b, "sqlite:"+tmp)
			if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			db.Close()
			if err := os.Rename(tmp, cache); err != nil {
				b.Fatal(err)
			}
		}
		dst := filepath.Join(b.TempDir(), "vanban.db")
		src, err := os.ReadFile(cache)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dst, src, 0o600); err != nil {
			b.Fatal(err)
		}
		return "sqlite:" + dst
	default:
		// A fresh, empty database gives a connection to the server; the
		// cache is a template database next to it, copied per run.
		fresh := pgtest.URL(b)
		admin, _ := sqlDB(b, fresh)
		defer admin.Close()
		var exists bool
		if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, key).Scan(&exists); err != nil {
			b.Fatal(err)
		}
		withDB := func(name string) string {
			u, _ := url.Parse(fresh)
			u.Path = "/" + name
			return u.String()
		}
		if !exists {
			tmp := key + "_tmp"
			if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + tmp); err != nil {
				b.Fatal(err)
			}
			if _, err := admin.Exec(`CREATE DATABASE ` + tmp); err != nil {
				b.Fatal(err)
			}
			seed(withDB(tmp))
			if _, err := admin.Exec(`ALTER DATABASE ` + tmp + ` RENAME TO ` + key); err != nil {
				b.Fatal(err)
			}
		}
		run := key + "_run" + strconv.Itoa(os.Getpid())
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + run); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec(`CREATE DATABASE ` + run + ` TEMPLATE ` + key); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			a, _ := sqlDB(b, fresh)
			defer a.Close()
			if _, err := a.Exec(`DROP DATABASE IF EXISTS ` + run + ` WITH (FORCE)`); err != nil {
				b.Errorf("drop %s: %v", run, err)
			}
		})
		return withDB(run)
	}
}

// newBenchEnv serves the API over a fresh copy of the seeded database and
// gives the people the benchmarks act as an API token each.
func newBenchEnv(b *testing.B, engine string) *benchEnv {
	b.Helper()
	ctx := context.Background()
	dbURL := seededURL(b, engine)
	db := pgtest.Open(b, dbURL)
	blobs, err := local.New(filepath.Join(b.TempDir(), "blobs"), local.Options{LinkSecret: bytes.Repeat([]byte("k"), 32), LinkBaseURL: "http://127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	wf := workflow.New[*store.Tx](db, nil)
	wf.Validator = noRoots{blobs}
	api := &httpapi.API{
		Workflow: wf, Directory: db, Blobs: blobs,
		Signing:   signsession.New(db, wf, blobs, map[string]signing.Provider{}, signsession.Options{Logger: quiet()}),
		Providers: []string{"sim", "seal"},
		Secret:    bytes.Repeat([]byte("s"), 32), Logger: quiet(), Passwords: testParams,
	}
	r := httpapi.NewRouter(httpapi.Options{Logger: quiet()})
	api.Mount(r)
	e := &benchEnv{srv: httptest.NewServer(r), tokens: map[string]string{}, ids: map[string]string{}}
	b.Cleanup(e.srv.Close)

	raw, dialect := sqlDB(b, dbURL)
	defer raw.Close()
	rows, err := raw.Query(`SELECT id, username FROM users`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			b.Fatal(err)
		}
		e.ids[name] = id
	}
	rows.Close()
	rows, err = raw.Query(rebind(dialect, `SELECT id, abbrev FROM units WHERE parent_id IS NOT NULL`))
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, abbrev string
		if err := rows.Scan(&id, &abbrev); err != nil {
			b.Fatal(err)
		}
		e.ids["unit:"+abbrev] = id
	}
	rows.Close()
	if err := raw.QueryRow(rebind(dialect, `SELECT symbol FROM documents WHERE symbol LIKE ? ORDER BY id LIMIT 1 OFFSET ?`),
		"%/QĐ-UBND", benchDocs()/200).Scan(&e.symbol); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"vanthu", "lanhdao-1", "cv-vp-1", "thamdinh-1"} {
		tok, hash, err := auth.NewToken(auth.APITokenPrefix)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateAPIToken(ctx, &store.APIToken{TokenHash: hash, UserID: e.ids[name], Name: "bench"}); err != nil {
			b.Fatal(err)
		}
		e.tokens[name] = tok
	}
	return e
}

// get makes one authenticated request and fails the benchmark on a non-200.
func (e *benchEnv) get(b *testing.B, hc *http.Client, who, path string) []byte {
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s as %s: %d %s", path, who, resp.StatusCode, body)
	}
	return body
}

// measure runs b.N requests one after another and reports the median and
// the 99th percentile latency in milliseconds.
func (e *benchEnv) measure(b *testing.B, who string, path func() string, check func([]byte)) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	check(e.get(b, hc, who, path())) // warm the connection and the caches
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		e.get(b, hc, who, path())
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 {
		i := int(q * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}

func itemsAtLeast(b *testing.B, n int) func([]byte) {
	return func(body []byte) {
		var p httpapi.DocumentPage
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
		if len(p.Items) < n {
			b.Fatalf("%d items, want at least %d: %.300s", len(p.Items), n, body)
		}
	}
}

func queuesNonEmpty(b *testing.B, queues ...string) func([]byte) {
	return func(body []byte) {
		var in map[string][]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			b.Fatal(err)
		}
		for _, q := range queues {
			if len(in[q]) == 0 {
				b.Fatalf("queue %s is empty: %.300s", q, body)
			}
		}
	}
}

// BenchmarkReadPath100k measures the inbox and search endpoints over HTTP
// with 100,000 documents, on PostgreSQL and SQLite.
//
//	go test ./internal/httpapi/ -run '^$' -bench ReadPath100k -benchtime 200x
func BenchmarkReadPath100k(b *testing.B) {
	for _, engine := range []string{"postgres", "sqlite"} {
		b.Run(engine, func(b *testing.B) {
			e := newBenchEnv(b, engine)
			vp := e.ids["unit:VP"]
			for _, who := range []struct {
				name   string
				queues []string
			}{
				{"vanthu", []string{"number", "seal", "issue", "route", "overdue"}},
				{"lanhdao-1", []string{"sign", "assign"}},
				{"cv-vp-1", []string{"drafts"}},
				{"thamdinh-1", []string{"review"}},
			} {
				b.Run("inbox/"+who.name, func(b *testing.B) {
					e.measure(b, who.name, func() string { return "/api/v1/inbox" }, queuesNonEmpty(b, who.queues...))
				})
			}
			cursor := ""
			searches := []struct {
				name, who, path string
				min             int
			}{
				{"newest", "cv-vp-1", "/api/v1/documents", 50},
				{"text-common", "cv-vp-1", "/api/v1/documents?q=" + url.QueryEscape("ke hoach su dung dat"), 50},
				{"text-accents", "vanthu", "/api/v1/documents?q=" + url.QueryEscape("Quyết định phòng cháy"), 1},
				{"text-symbol", "cv-vp-1", "/api/v1/documents?q=" + url.QueryEscape(e.symbol), 1},
				{"text-none", "cv-vp-1", "/api/v1/documents?q=" + url.QueryEscape("không có văn bản này"), 0},
				{"filters", "vanthu", "/api/v1/documents?direction=out&state=issued,archived&type=quyet-dinh&unit=" + vp + "&from=2025-01-01&to=2025-12-31", 1},
				{"symbol", "vanthu", "/api/v1/documents?symbol=" + url.QueryEscape(e.symbol), 1},
			}
			for _, s := range searches {
				b.Run("search/"+s.name, func(b *testing.B) {
					e.measure(b, s.who, func() string { return s.path }, itemsAtLeast(b, s.min))
				})
			}
			// A cursor page deep in a text search: page 21 of "ke hoach"
			// (fewer with a small VANBAN_BENCH_DOCS).
			hc := &http.Client{}
			path := "/api/v1/documents?q=" + url.QueryEscape("ke hoach")
			for range 20 {
				var p httpapi.DocumentPage
				if err := json.Unmarshal(e.get(b, hc, "cv-vp-1", path+cursor), &p); err != nil {
					b.Fatal(err)
				}
				if p.Next == "" {
					break
				}
				cursor = "&cursor=" + p.Next
			}
			b.Run("search/cursor-page-21", func(b *testing.B) {
				e.measure(b, "cv-vp-1", func() string { return path + cursor }, itemsAtLeast(b, 1))
			})
		})
	}
}
