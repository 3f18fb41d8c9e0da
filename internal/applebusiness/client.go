package applebusiness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API is what the activities need from Apple Business Manager. *Client implements it against
// Apple's API (or the simulator's copy of it); tests may fake it.
type API interface {
	AssignedServer(ctx context.Context, serial string) (serverID string, assigned bool, err error)
	UnassignDevices(ctx context.Context, serials []string) (Activity, error)
	Activity(ctx context.Context, id string) (Activity, error)
}

var _ API = (*Client)(nil)

// Client is a client of the Apple Business API. It caches one access token and shares it among
// concurrent calls. It does not retry, except once after a 401 with a fresh token (Apple asks
// clients to fetch a new token whenever the API answers 401): the caller (a Temporal activity)
// owns every other retry, reading APIError.Temporary and RetryAfter. In particular it never
// sleeps on a 429: the error carries the Retry-After (RetryAfter(err)).
type Client struct {
	cfg    Config
	tokens *tokenSource
}

// New checks cfg and returns a Client. It does not contact Apple.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, tokens: &tokenSource{cfg: cfg}}, nil
}

// String describes the client without any secret.
func (c *Client) String() string {
	return fmt.Sprintf("applebusiness.Client{ClientID: %q, ServerID: %q, API: %s}", c.cfg.ClientID, c.cfg.ServerID, c.cfg.APIBaseURL)
}

// GoString is String, so %#v shows no secret either.
func (c *Client) GoString() string { return c.String() }

// TokensFetched is how many access tokens the client has obtained so far.
func (c *Client) TokensFetched() int { return c.tokens.count() }

// AssignedServer reads which MDM server the device is assigned to
// (GET /v1/orgDevices/{serial}/relationships/assignedServer). A device assigned to none answers
// assigned == false. A serial Apple does not know in this organization is an *APIError with
// Status 404 (see IsNotFound): the caller decides what that means.
func (c *Client) AssignedServer(ctx context.Context, serial string) (string, bool, error) {
	if strings.TrimSpace(serial) == "" {
		return "", false, errors.New("apple business: read assigned server: no serial")
	}
	op := "read the assigned MDM server of device " + serial
	var answer struct {
		Data *resourceID `json:"data"`
	}
	path := "/v1/orgDevices/" + url.PathEscape(serial) + "/relationships/assignedServer"
	if err := c.do(ctx, op, http.MethodGet, path, nil, &answer); err != nil {
		return "", false, err
	}
	if answer.Data == nil || answer.Data.ID == "" {
		return "", false, nil
	}
	if answer.Data.Type != "" && answer.Data.Type != "mdmServers" {
		return "", false, fmt.Errorf("apple business: %s: the answer links a %q, not an mdmServers resource", op, answer.Data.Type)
	}
	return answer.Data.ID, true, nil
}

// UnassignDevices asks Apple to unassign serials from our MDM server (Config.ServerID): it creates
// an UNASSIGN_DEVICES activity (POST /v1/orgDeviceActivities) and returns it as created, usually
// IN_PROGRESS; poll Activity until it is Final. The POST is not idempotent: the caller must not
// send it again for the same devices without first checking AssignedServer or the activity it has.
func (c *Client) UnassignDevices(ctx context.Context, serials []string) (Activity, error) {
	op := fmt.Sprintf("unassign %s from MDM server %s", deviceList(serials), c.cfg.ServerID)
	if c.cfg.ServerID == "" {
		return Activity{}, errors.New("apple business: " + op + ": no MDM server id: set APPLE_SERVER_ID to the id of this console's MDM server in Apple Business Manager")
	}
	if len(serials) == 0 {
		return Activity{}, errors.New("apple business: unassign devices: no serials")
	}
	if len(serials) > MaxActivityDevices {
		// Refused here rather than by Apple: a refused POST still spends the hour's budget.
		return Activity{}, fmt.Errorf("apple business: %s: %d devices, at most %d in one activity", op, len(serials), MaxActivityDevices)
	}
	devices := make([]resourceID, 0, len(serials))
	for _, s := range serials {
		if strings.TrimSpace(s) == "" {
			return Activity{}, fmt.Errorf("apple business: %s: an empty serial in the list", op)
		}
		devices = append(devices, resourceID{Type: "orgDevices", ID: s})
	}
	var req activityCreateRequest
	req.Data.Type = "orgDeviceActivities"
	req.Data.Attributes.ActivityType = ActivityUnassignDevices
	req.Data.Relationships.MDMServer.Data = resourceID{Type: "mdmServers", ID: c.cfg.ServerID}
	req.Data.Relationships.Devices.Data = devices
	body, err := json.Marshal(req)
	if err != nil {
		return Activity{}, fmt.Errorf("apple business: %s: encode: %w", op, err)
	}
	var answer activityDocument
	if err := c.do(ctx, op, http.MethodPost, "/v1/orgDeviceActivities", body, &answer); err != nil {
		return Activity{}, err
	}
	return answer.activity(op)
}

// Activity reads an organization device activity (GET /v1/orgDeviceActivities/{id}). Apple keeps
// activities for 30 days.
func (c *Client) Activity(ctx context.Context, id string) (Activity, error) {
	if strings.TrimSpace(id) == "" {
		return Activity{}, errors.New("apple business: read activity: no activity id")
	}
	op := "read activity " + id
	var answer activityDocument
	if err := c.do(ctx, op, http.MethodGet, "/v1/orgDeviceActivities/"+url.PathEscape(id), nil, &answer); err != nil {
		return Activity{}, err
	}
	return answer.activity(op)
}

// do sends one API request with the cached token and decodes a 2xx answer into out. A 401 drops
// the token and sends the request once more with a new one: a 401 means Apple did not act on the
// request, so even the non-idempotent POST is safe to repeat then.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, out any) error {
	for attempt := 1; ; attempt++ {
		token, err := c.tokens.get(ctx)
		if err != nil {
			return fmt.Errorf("%w [needed to %s]", err, op)
		}
		status, data, header, err := c.send(ctx, method, path, body, token)
		if err != nil {
			return fmt.Errorf("apple business: %s: %s: %w", op, transportHint(ctx, method), scrub(err, token))
		}
		if status == http.StatusUnauthorized && attempt == 1 {
			c.tokens.invalidate(token)
			continue
		}
		if status < 200 || status > 299 {
			e := parseError(&http.Response{StatusCode: status, Header: header}, data, c.cfg.Now())
			e.Op = op
			redactError(e, token)
			return e
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("apple business: %s: the answer (HTTP %d) is not Apple's JSON: %w; check APPLE_API_URL", op, status, err)
		}
		return nil
	}
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, token string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.APIBaseURL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json") // Apple answers 406 without it
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, data, resp.Header, nil
}

// transportHint says what a failed round trip means, and whether repeating it is safe.
func transportHint(ctx context.Context, method string) string {
	switch {
	case ctx.Err() != nil:
		return "cancelled before Apple answered"
	case method == http.MethodPost:
		return "no answer from Apple: the activity may or may not exist; check AssignedServer before sending it again"
	default:
		return "no answer from Apple (safe to retry)"
	}
}

// deviceList names the devices of an operation: all of a few, or a count and the first ones.
func deviceList(serials []string) string {
	switch n := len(serials); {
	case n == 1:
		return "device " + serials[0]
	case n <= 5:
		return "devices " + strings.Join(serials, ", ")
	default:
		return fmt.Sprintf("%d devices (%s, ...)", n, strings.Join(serials[:3], ", "))
	}
}

// resourceID is a JSON:API resource identifier object.
type resourceID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// activityCreateRequest is Apple's OrgDeviceActivityCreateRequest.
type activityCreateRequest struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			ActivityType string `json:"activityType"`
		} `json:"attributes"`
		Relationships struct {
			MDMServer struct {
				Data resourceID `json:"data"`
			} `json:"mdmServer"`
			Devices struct {
				Data []resourceID `json:"data"`
			} `json:"devices"`
		} `json:"relationships"`
	} `json:"data"`
}

// activityDocument is Apple's OrgDeviceActivityResponse.
type activityDocument struct {
	Data *struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Attributes struct {
			Status            string     `json:"status"`
			SubStatus         string     `json:"subStatus"`
			CreatedDateTime   time.Time  `json:"createdDateTime"`
			CompletedDateTime *time.Time `json:"completedDateTime"`
			DownloadURL       string     `json:"downloadUrl"`
		} `json:"attributes"`
	} `json:"data"`
}

func (d activityDocument) activity(op string) (Activity, error) {
	if d.Data == nil || d.Data.ID == "" {
		return Activity{}, fmt.Errorf("apple business: %s: the answer holds no activity; check APPLE_API_URL", op)
	}
	a := d.Data.Attributes
	return Activity{
		ID:                d.Data.ID,
		Status:            a.Status,
		SubStatus:         a.SubStatus,
		CreatedDateTime:   a.CreatedDateTime,
		CompletedDateTime: a.CompletedDateTime,
		DownloadURL:       a.DownloadURL,
	}, nil
}
