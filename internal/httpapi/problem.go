package httpapi

import (
	"github.com/gin-gonic/gin"
)

// ProblemDetails is an RFC 9457 problem document.
type ProblemDetails struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code is our stable machine-readable error code.
	Code string `json:"code"`
	// Errors lists field-level problems for invalid input.
	Errors map[string]string `json:"errors,omitempty"`
}

// problemTypeBase prefixes problem type URIs; they are documentation
// identifiers, not fetched.
const problemTypeBase = "https://vanban.invalid/problems/"

// Problem writes an RFC 9457 problem response and aborts the chain.
func Problem(c *gin.Context, status int, code, title, detail string) {
	WriteProblem(c, ProblemDetails{Type: problemTypeBase + code, Title: title, Status: status, Detail: detail, Code: code, Instance: c.Request.URL.Path})
}

// WriteProblem writes p as application/problem+json and aborts the chain.
func WriteProblem(c *gin.Context, p ProblemDetails) {
	if p.Type == "" {
		p.Type = problemTypeBase + p.Code
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
