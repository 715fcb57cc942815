package httpapi_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"vanban/internal/dashboard"
	"vanban/internal/store/pgtest"
)

// BenchmarkDashboard100k computes the whole dashboard (every figure, one
// read transaction) for people of different reach over the seeded 100,000
// documents, on PostgreSQL and SQLite, and reports the median and the 99th
// percentile.
//
//	go test ./internal/httpapi/ -run '^$' -bench Dashboard100k -benchtime 100x
func BenchmarkDashboard100k(b *testing.B) {
	for _, engine := range []string{"postgres", "sqlite"} {
		b.Run(engine, func(b *testing.B) {
			dbURL := seededURL(b, engine)
			db := pgtest.Open(b, dbURL)
			raw, _ := sqlDB(b, dbURL)
			ids := map[string]string{}
			rows, err := raw.Query(`SELECT id, username FROM users`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id, name string
				if err := rows.Scan(&id, &name); err != nil {
					b.Fatal(err)
				}
				ids[name] = id
			}
			rows.Close()
			// The period of processing times: the seeded data's last year.
			var last sql.NullInt64
			if err := raw.QueryRow(`SELECT MAX(created_at) FROM documents`).Scan(&last); err != nil {
				b.Fatal(err)
			}
			raw.Close()
			end := time.UnixMicro(last.Int64)
			svc := dashboard.New(db)
			svc.Now = func() time.Time { return end }
			for _, who := range []string{"vanthu", "lanhdao-1", "thamdinh-1"} {
				for _, period := range []struct {
					name string
					days int
				}{{"90d", 90}, {"365d", 365}} {
					b.Run(who+"/"+period.name, func(b *testing.B) {
						ctx := context.Background()
						from := end.AddDate(0, 0, -period.days)
						d, err := svc.Dashboard(ctx, ids[who], from, end)
						if err != nil {
							b.Fatal(err)
						}
						if len(d.States) == 0 || len(d.Trend) != 12 {
							b.Fatalf("an empty dashboard: %+v", d)
						}
						lat := make([]time.Duration, 0, b.N)
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							start := time.Now()
							if _, err := svc.Dashboard(ctx, ids[who], from, end); err != nil {
								b.Fatal(err)
							}
							lat = append(lat, time.Since(start))
						}
						b.StopTimer()
						slices.Sort(lat)
						q := func(p float64) float64 {
							i := min(int(p*float64(len(lat))), len(lat)-1)
							return float64(lat[i].Microseconds()) / 1000
						}
						b.ReportMetric(q(0.50), "p50-ms")
						b.ReportMetric(q(0.99), "p99-ms")
						b.ReportMetric(float64(d.Overdue.N), "overdue")
					})
				}
			}
		})
	}
}
