package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"vanban/exchange"
	"vanban/internal/interchange"
	"vanban/internal/store"
	"vanban/signing/verify"
)

// openExchange builds the document interconnection service on the
// configured transport (VANBAN_EXCHANGE), or the development hub when the
// development services run; without either it still serves the directory
// and the queue, and sends nothing. A poll=DURATION query parameter of the
// transport URI sets how often it polls (default 5s).
func openExchange(a *app, dev *DevServices, s *services) (*interchange.Service[*store.Tx], error) {
	uri := a.cfg.Exchange
	if uri == "" && dev != nil {
		uri = dev.ExchangeURI
	}
	opt := interchange.Options{
		Blobs: a.blobs, Incoming: s.workflow, Attachments: a.db.Attachments,
		Logger: a.log.With("component", "exchange"),
		Verify: func(ctx context.Context, key string) (string, []byte, error) {
			rep, err := s.validator.Validate(ctx, key)
			if err != nil {
				return "", nil, err
			}
			b, err := json.Marshal(rep)
			return worstOf(rep), b, err
		},
		SaveReport: func(ctx context.Context, docID string, seq int, indication string, report []byte) error {
			return a.db.SaveVerification(ctx, &store.VerificationRecord{DocumentID: docID, VersionSeq: seq, Indication: indication, ReportJSON: report})
		},
	}
	if uri != "" {
		tr, err := exchange.Open(uri, exchange.OSEnv)
		if err != nil {
			return nil, fmt.Errorf("VANBAN_EXCHANGE: %w", err)
		}
		opt.Transport = tr
		if u, err := url.Parse(uri); err == nil {
			if p := u.Query().Get("poll"); p != "" {
				d, err := time.ParseDuration(p)
				if err != nil || d <= 0 {
					return nil, errors.New("VANBAN_EXCHANGE: poll= is not a positive duration")
				}
				opt.PollInterval = d
			}
		}
		a.log.Info("document exchange", "transport", strings.SplitN(uri, ":", 2)[0])
	}
	return interchange.New[*store.Tx](a.db, opt), nil
}

// worstOf is the overall indication of a report: the worst of its
// signatures', or NO-SIGNATURE.
func worstOf(rep *verify.Report) string {
	if len(rep.Signatures) == 0 {
		return "NO-SIGNATURE"
	}
	rank := map[verify.Indication]int{verify.TotalPassed: 0, verify.Indeterminate: 1, verify.TotalFailed: 2}
	worst := verify.TotalPassed
	for _, sig := range rep.Signatures {
		if rank[sig.Indication] > rank[worst] {
			worst = sig.Indication
		}
	}
	return string(worst)
}
