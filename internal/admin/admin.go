// Package admin holds the administration use cases of an organization:
// units, people with their roles and passwords, how leaders sign and how
// the seal is applied, and the signature images. The REST API and the pages
// both call it, so a rule (who may, what a username is, which signer a
// leader may have) exists once. Every change is checked and made in one
// transaction: a refused request changes nothing.
//
// Authorization: the admin role on the unit concerned, or on the
// organization's root unit (whose id is the organization's) for
// organization-wide changes. People and units of another organization do
// not exist for the actor (ENOTFOUND).
package admin

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"vanban/internal/auth"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// Provider describes a configured signing provider.
type Provider struct {
	Name string
	// PerSigner providers sign for many people, each named by a signer id
	// (a SIM's phone number, a remote-signing credential); the others hold
	// one key and sign with it whatever the signer id.
	PerSigner bool
	// PhoneNumbers: the signer ids are phone numbers, stored in the
	// international form. Other signer ids (a SmartCA user's CCCD
	// 001088012345, a tax code, an agreement) are kept as given.
	PhoneNumbers bool
}

// Service runs the administration use cases.
type Service struct {
	DB        *store.DB
	Providers []Provider
	// Passwords are the argon2id parameters; zero means auth.DefaultParams.
	Passwords auth.Params
	Logger    *slog.Logger
}

func (s *Service) params() auth.Params {
	if s.Passwords == (auth.Params{}) {
		return auth.DefaultParams
	}
	return s.Passwords
}

// ProviderNames lists the configured providers' names.
func (s *Service) ProviderNames() []string {
	out := make([]string, len(s.Providers))
	for i, p := range s.Providers {
		out[i] = p.Name
	}
	return out
}

func (s *Service) provider(name string) (Provider, bool) {
	for _, p := range s.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// call is the actor of one use case inside its transaction.
type call struct {
	ctx    context.Context
	tx     *store.Tx
	user   *document.User
	grants document.Grants
}

func (s *Service) begin(ctx context.Context, tx *store.Tx, a workflow.Actor) (*call, error) {
	if a.UserID == "" {
		return nil, document.Errorf(document.EFORBIDDEN, "no user is signed in")
	}
	u, err := tx.User(ctx, a.UserID)
	if document.ErrorCode(err) == document.ENOTFOUND || (err == nil && u.Disabled) {
		return nil, document.Errorf(document.EFORBIDDEN, "user %s is unknown or disabled", a.UserID)
	}
	if err != nil {
		return nil, err
	}
	gs, err := tx.Grants(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &call{ctx: ctx, tx: tx, user: u, grants: gs}, nil
}

// run executes fn in a write transaction as a.
func (s *Service) run(ctx context.Context, a workflow.Actor, fn func(c *call) error) error {
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := s.begin(ctx, tx, a)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// read executes fn in a read-only transaction as a.
func (s *Service) read(ctx context.Context, a workflow.Actor, fn func(c *call) error) error {
	return s.DB.WithReadTx(ctx, func(tx *store.Tx) error {
		c, err := s.begin(ctx, tx, a)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// unit loads a unit of the actor's organization.
func (c *call) unit(id string) (*document.Unit, error) {
	u, err := c.tx.Unit(c.ctx, id)
	if err == nil && u.OrgID != c.user.OrgID {
		err = document.Errorf(document.ENOTFOUND, "unit %s not found", id)
	}
	return u, err
}

// requireAdmin: the admin role on unitID.
func (c *call) requireAdmin(unitID string) (*document.Unit, error) {
	u, err := c.unit(unitID)
	if err != nil {
		return nil, err
	}
	if !c.grants.Allows(document.RoleAdmin, *u) {
		return nil, document.Errorf(document.EFORBIDDEN, "administering unit %s needs the admin role there", u.Abbrev)
	}
	return u, nil
}

// requireOrgAdmin: organization-wide changes.
func (c *call) requireOrgAdmin() error {
	_, err := c.requireAdmin(c.user.OrgID)
	return err
}

// target loads a person of the actor's organization.
func (c *call) target(id string) (*document.User, error) {
	u, err := c.tx.User(c.ctx, id)
	if err == nil && u.OrgID != c.user.OrgID {
		err = document.Errorf(document.ENOTFOUND, "user %s not found", id)
	}
	return u, err
}

// UnitInput is a new unit.
type UnitInput struct {
	ParentID string
	Abbrev   string
	Name     string
}

// CreateUnit adds a unit under a parent the actor administers. Returns
// EINVALID, EFORBIDDEN, ENOTFOUND, ECONFLICT.
func (s *Service) CreateUnit(ctx context.Context, a workflow.Actor, in UnitInput) (*document.Unit, error) {
	abbrev, name := strings.TrimSpace(in.Abbrev), strings.TrimSpace(in.Name)
	switch {
	case in.ParentID == "":
		return nil, document.FieldErrorf("parent_id", document.EINVALID, "choose the parent unit")
	case abbrev == "" || utf8.RuneCountInString(abbrev) > 20 || strings.ContainsAny(abbrev, " \t/"):
		return nil, document.FieldErrorf("abbrev", document.EINVALID, "an abbreviation of 1 to 20 characters without spaces or /")
	case name == "" || utf8.RuneCountInString(name) > 200:
		return nil, document.FieldErrorf("name", document.EINVALID, "a name of 1 to 200 characters")
	}
	u := &document.Unit{ParentID: in.ParentID, Abbrev: abbrev, Name: name}
	err := s.run(ctx, a, func(c *call) error {
		if _, err := c.requireAdmin(in.ParentID); err != nil {
			return err
		}
		return c.tx.CreateUnit(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Grant is a role in a unit.
type Grant struct {
	UnitID string
	Role   document.Role
}

// PersonInput is a new person. Password is optional: without one the
// person cannot sign in until an administrator sets it.
type PersonInput struct {
	Username string
	FullName string
	Title    string
	Password string
	Roles    []Grant
}

// CreatePerson adds a person of the actor's organization with their roles
// and password, all in one transaction: a refusal of any part leaves no
// half-made person. Returns EINVALID (with the field), EFORBIDDEN,
// ECONFLICT for a username that is taken.
func (s *Service) CreatePerson(ctx context.Context, a workflow.Actor, in PersonInput) (*document.User, error) {
	u := &document.User{Username: strings.TrimSpace(in.Username), FullName: strings.TrimSpace(in.FullName), Title: strings.TrimSpace(in.Title)}
	for _, g := range in.Roles {
		if !g.Role.Valid() {
			return nil, document.FieldErrorf("role", document.EINVALID, "role %q is unknown", g.Role)
		}
	}
	var hash string
	if in.Password != "" {
		// Hashed before the transaction: argon2id takes tens of
		// milliseconds, and no lock should wait for it.
		var err error
		if hash, err = s.hash(in.Password); err != nil {
			return nil, err
		}
	}
	err := s.run(ctx, a, func(c *call) error {
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		u.OrgID = c.user.OrgID
		if err := u.Validate(); err != nil {
			return err
		}
		for _, g := range in.Roles {
			if _, err := c.unit(g.UnitID); err != nil {
				return document.FieldErrorf("unit_id", document.EINVALID, "unit %s is not of this organization", g.UnitID)
			}
		}
		if err := c.tx.CreateUser(ctx, u); err != nil {
			if document.ErrorCode(err) == document.ECONFLICT {
				return document.FieldErrorf("username", document.ECONFLICT, "username %s is taken", u.Username)
			}
			return err
		}
		for _, g := range in.Roles {
			// Granted at once: only the organization's administrators
			// create people, and they can already reset anyone's
			// password (audited). The two-person rule guards grants to
			// existing accounts (ChangeRole), where a unit administrator
			// could otherwise make itself a clerk; an organization with a
			// single administrator could never get its first clerk.
			if err := c.tx.GrantRole(ctx, u.ID, g.UnitID, g.Role); err != nil {
				return err
			}
		}
		if hash != "" {
			return c.tx.SetPasswordHash(ctx, u.ID, hash)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Service) hash(password string) (string, error) {
	if len(password) < auth.MinPasswordLength {
		return "", document.FieldErrorf("password", document.EINVALID, "a password of at least %d characters", auth.MinPasswordLength)
	}
	if len(password) > 1024 {
		return "", document.FieldErrorf("password", document.EINVALID, "a password of at most 1024 bytes")
	}
	return auth.HashPassword(password, s.params())
}

// ChangeRole grants (or revokes) role in unitID to person userID; the
// actor administers unitID. Nobody grants themselves a role, and a role
// that opens secret documents (store.NeedsSecondAdmin) is not granted at
// once: the pending request is returned for a second administrator to
// approve. Returns EINVALID, EFORBIDDEN, ENOTFOUND.
func (s *Service) ChangeRole(ctx context.Context, a workflow.Actor, userID, unitID string, role document.Role, grant bool) (*store.RoleRequest, error) {
	if !role.Valid() {
		return nil, document.FieldErrorf("role", document.EINVALID, "role %q is unknown", role)
	}
	if unitID == "" {
		return nil, document.FieldErrorf("unit_id", document.EINVALID, "choose the unit")
	}
	var pending *store.RoleRequest
	err := s.run(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if _, err := c.requireAdmin(unitID); err != nil {
			return err
		}
		if grant {
			pending, err = c.tx.GrantRoleBy(ctx, c.user.ID, u.ID, unitID, role)
			return err
		}
		return c.tx.RevokeRole(ctx, u.ID, unitID, role)
	})
	return pending, err
}

// RoleRequests lists the grants waiting for a second administrator that
// the actor could approve (those of units the actor administers).
func (s *Service) RoleRequests(ctx context.Context, a workflow.Actor) ([]*store.RoleRequest, error) {
	var out []*store.RoleRequest
	err := s.read(ctx, a, func(c *call) error {
		admin := false
		for _, g := range c.grants {
			admin = admin || g.Role == document.RoleAdmin
		}
		if !admin {
			return document.Errorf(document.EFORBIDDEN, "role requests are for administrators")
		}
		rs, err := c.tx.PendingRoleRequests(ctx, c.user.OrgID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := c.requireAdmin(r.UnitID); err == nil {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// ApproveRoleRequest grants a pending role as the second administrator:
// the actor administers the request's unit and is neither the
// administrator who asked nor the person who gets the role. Returns
// EFORBIDDEN, ENOTFOUND, ECONFLICT when already approved.
func (s *Service) ApproveRoleRequest(ctx context.Context, a workflow.Actor, id string) (*store.RoleRequest, error) {
	var out *store.RoleRequest
	err := s.run(ctx, a, func(c *call) error {
		r, err := c.tx.RoleRequestByID(ctx, id)
		if err != nil {
			return err
		}
		if _, err := c.unit(r.UnitID); err != nil {
			// Another organization's request: not there for this actor.
			return document.Errorf(document.ENOTFOUND, "role request %s not found", id)
		}
		if _, err := c.requireAdmin(r.UnitID); err != nil {
			return err
		}
		out, err = c.tx.ApproveRoleRequest(ctx, c.user.ID, id)
		return err
	})
	return out, err
}

// SetPassword sets a person's password and ends their sessions, in one
// transaction. Returns EINVALID, EFORBIDDEN, ENOTFOUND.
func (s *Service) SetPassword(ctx context.Context, a workflow.Actor, userID, password string) error {
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.run(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		if err := c.tx.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		_, err = c.tx.DeleteUserSessions(ctx, u.ID)
		return err
	})
}

// SetDisabled disables a person (ending their sessions) or enables them
// again. Nobody disables themselves. Returns EFORBIDDEN, ENOTFOUND,
// ECONFLICT.
func (s *Service) SetDisabled(ctx context.Context, a workflow.Actor, userID string, disabled bool) error {
	return s.run(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		if disabled && u.ID == c.user.ID {
			return document.Errorf(document.ECONFLICT, "you cannot disable your own account")
		}
		if err := c.tx.SetUserDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		if disabled {
			_, err = c.tx.DeleteUserSessions(ctx, u.ID)
		}
		return err
	})
}

// Person is a person with their roles.
type Person struct {
	*document.User
	Grants document.Grants
}

// People lists the organization's people with their roles (admins of the
// organization). Returns EFORBIDDEN.
func (s *Service) People(ctx context.Context, a workflow.Actor) ([]Person, error) {
	var out []Person
	err := s.read(ctx, a, func(c *call) error {
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		us, err := c.tx.Users(ctx, c.user.OrgID)
		if err != nil {
			return err
		}
		for _, u := range us {
			gs, err := c.tx.Grants(ctx, u.ID)
			if err != nil {
				return err
			}
			out = append(out, Person{User: u, Grants: gs})
		}
		return nil
	})
	return out, err
}

// Person returns one person with their roles and signing identity (nil
// when none), for an administrator of the organization or the person.
func (s *Service) Person(ctx context.Context, a workflow.Actor, userID string) (*Person, *store.SigningIdentity, error) {
	var p *Person
	var ident *store.SigningIdentity
	err := s.read(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if u.ID != c.user.ID {
			if err := c.requireOrgAdmin(); err != nil {
				return err
			}
		}
		gs, err := c.tx.Grants(ctx, u.ID)
		if err != nil {
			return err
		}
		p = &Person{User: u, Grants: gs}
		id, err := c.tx.SigningIdentity(ctx, u.ID)
		switch document.ErrorCode(err) {
		case "":
			ident = id
		case document.ENOTFOUND:
		default:
			return err
		}
		return nil
	})
	return p, ident, err
}

// SigningIdentity returns how a leader signs, for an administrator or the
// leader. Returns ENOTFOUND when none is set.
func (s *Service) SigningIdentity(ctx context.Context, a workflow.Actor, userID string) (*store.SigningIdentity, error) {
	_, id, err := s.Person(ctx, a, userID)
	if err == nil && id == nil {
		err = document.Errorf(document.ENOTFOUND, "user %s has no signing identity", userID)
	}
	return id, err
}

// SetSigningIdentity sets how a leader signs. A leader signs with a key of
// their own, never the organization's seal:
//   - the provider is configured and is not the one the organization's
//     seal signature uses;
//   - a provider that signs for many people (SIM, remote signing) needs the
//     leader's own signer id; for a SIM provider a phone number is stored
//     in the international form (0912 345 678 becomes 84912345678);
//   - a provider that holds one key (a key file, a token) is personal only
//     if nobody else signs with it.
//
// Returns EINVALID (with the field), EFORBIDDEN, ENOTFOUND.
func (s *Service) SetSigningIdentity(ctx context.Context, a workflow.Actor, userID, provider, signer string) (*store.SigningIdentity, error) {
	p, ok := s.provider(provider)
	if !ok {
		return nil, document.FieldErrorf("provider", document.EINVALID, "unknown provider %q; configured: %s", provider, strings.Join(s.ProviderNames(), ", "))
	}
	signer = strings.TrimSpace(signer)
	if utf8.RuneCountInString(signer) > 200 {
		return nil, document.FieldErrorf("signer", document.EINVALID, "the signer id is at most 200 characters")
	}
	if p.PerSigner {
		if signer == "" {
			return nil, document.FieldErrorf("signer", document.EINVALID, "provider %s signs for many people: give the leader's own phone number or account", p.Name)
		}
		if p.PhoneNumbers && document.IsPhoneNumber(signer) {
			n, err := document.NormalizePhone(signer)
			if err != nil {
				return nil, err
			}
			signer = n
		}
	}
	id := &store.SigningIdentity{UserID: userID, Provider: p.Name, ProviderSigner: signer}
	err := s.run(ctx, a, func(c *call) error {
		u, err := c.target(userID)
		if err != nil {
			return err
		}
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		if seal, err := c.tx.SealSigner(ctx, u.OrgID); err == nil && seal.Provider == p.Name {
			return document.FieldErrorf("provider", document.EINVALID, "provider %s applies the organization's seal; a leader signs with their own key", p.Name)
		} else if err != nil && document.ErrorCode(err) != document.ENOTFOUND {
			return err
		}
		if !p.PerSigner {
			others, err := c.identitiesWith(p.Name, u.ID)
			if err != nil {
				return err
			}
			if len(others) > 0 {
				return document.FieldErrorf("provider", document.EINVALID, "provider %s holds one key, already used by someone else", p.Name)
			}
		}
		return c.tx.SetSigningIdentity(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}

// identitiesWith lists the people of the organization other than except
// who sign with provider.
func (c *call) identitiesWith(provider, except string) ([]string, error) {
	us, err := c.tx.Users(c.ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range us {
		if u.ID == except {
			continue
		}
		id, err := c.tx.SigningIdentity(c.ctx, u.ID)
		if document.ErrorCode(err) == document.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if id.Provider == provider {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

// SealSigner returns how the actor's organization applies its seal.
// Returns ENOTFOUND when it is not set.
func (s *Service) SealSigner(ctx context.Context, a workflow.Actor) (*store.SealSigner, error) {
	var out *store.SealSigner
	err := s.read(ctx, a, func(c *call) error {
		var err error
		out, err = c.tx.SealSigner(ctx, c.user.OrgID)
		return err
	})
	return out, err
}

// SetSealSigner sets how the organization applies its seal. A provider a
// leader signs with cannot be the seal's. Returns EINVALID, EFORBIDDEN.
func (s *Service) SetSealSigner(ctx context.Context, a workflow.Actor, provider, signer string) (*store.SealSigner, error) {
	p, ok := s.provider(provider)
	if !ok {
		return nil, document.FieldErrorf("provider", document.EINVALID, "unknown provider %q; configured: %s", provider, strings.Join(s.ProviderNames(), ", "))
	}
	signer = strings.TrimSpace(signer)
	if utf8.RuneCountInString(signer) > 200 {
		return nil, document.FieldErrorf("signer", document.EINVALID, "the signer id is at most 200 characters")
	}
	var out *store.SealSigner
	err := s.run(ctx, a, func(c *call) error {
		if err := c.requireOrgAdmin(); err != nil {
			return err
		}
		leaders, err := c.identitiesWith(p.Name, "")
		if err != nil {
			return err
		}
		if len(leaders) > 0 {
			return document.FieldErrorf("provider", document.EINVALID, "provider %s is a leader's own signer; the seal needs the organization's key", p.Name)
		}
		out = &store.SealSigner{OrgID: c.user.OrgID, Provider: p.Name, ProviderSigner: signer}
		return c.tx.SetSealSigner(ctx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LeaderProviders are the providers a leader's identity may name: every
// configured one except the seal's (nil actor errors are the caller's).
func (s *Service) LeaderProviders(seal *store.SealSigner) []Provider {
	var out []Provider
	for _, p := range s.Providers {
		if seal != nil && seal.Provider == p.Name {
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Provider) int {
		// Per-signer providers (a SIM) first: the usual choice.
		switch {
		case a.PerSigner && !b.PerSigner:
			return -1
		case !a.PerSigner && b.PerSigner:
			return 1
		}
		return 0
	})
	return out
}
