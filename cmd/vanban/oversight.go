package main

import (
	"vanban/internal/httpapi"
	"vanban/internal/reports"
)

// oversight wires the registers' printouts and reports, notifications, the
// dashboard and the public lookup.
func (s *services) oversight(a *app) httpapi.Oversight {
	return httpapi.Oversight{Reports: reports.New(a.db)}
}
