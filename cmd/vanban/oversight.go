package main

import (
	"context"

	"vanban/internal/dashboard"
	"vanban/internal/httpapi"
	"vanban/internal/lookup"
	"vanban/internal/notify"
	"vanban/internal/reports"
	"vanban/internal/web"
)

// oversightState is what the oversight features run: the live-notice hub
// the pages listen on and the notification worker.
type oversightState struct {
	hub    *notify.Hub
	worker *notify.Worker
	lookup *lookup.Service
}

// oversight wires the registers' printouts and reports, notifications, the
// dashboard and the public lookup. Channels not configured (no SMTP server,
// no chat connector) are left out; the page always works.
//
// The settings were checked when the configuration was loaded; a channel
// that still cannot be built is logged and left out.
func (s *services) oversight(a *app) httpapi.Oversight {
	cfg := a.cfg.Notify
	hub := notify.NewHub()
	channels := map[string]notify.Channel{notify.ChannelPage: hub}
	if cfg.SMTPAddr != "" {
		mailer, err := notify.NewSMTP(notify.SMTPConfig{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS})
		if err != nil {
			a.log.Error("e-mail notices are off", "setting", "VANBAN_SMTP_ADDR", "err", err)
		} else {
			channels[notify.ChannelEmail] = mailer
		}
	}
	if cfg.ChatURL != "" {
		chat, err := notify.NewChat(notify.ChatConfig{URL: cfg.ChatURL, AccessToken: cfg.ChatToken, TemplateID: cfg.ChatTemplate})
		if err != nil {
			a.log.Error("chat notices are off", "setting", "VANBAN_CHAT_URL", "err", err)
		} else {
			channels[notify.ChannelChat] = chat
		}
	}
	s.over = &oversightState{hub: hub, worker: notify.New(a.db, notify.Options{Channels: channels, BaseURL: a.cfg.PublicURL,
		DigestHour: cfg.DigestHour, Logger: a.log.With("component", "notify")}), lookup: lookup.New(a.db)}
	return httpapi.Oversight{Reports: reports.New(a.db), Notifications: a.db, Hub: hub, Lookup: s.over.lookup}
}

// webOversight wires the oversight pages.
func (s *services) webOversight(a *app) web.Oversight {
	o := web.Oversight{Dashboard: dashboard.New(a.db), Limits: web.NewLookupLimits()}
	if s.over != nil {
		o.Lookup = s.over.lookup
	}
	return o
}

// startOversight runs the notification worker until ctx ends.
func (s *services) startOversight(ctx context.Context) {
	if s.over == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.over.worker.Run(ctx)
	}()
}
