package applebusiness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxDevicesPageLimit is the largest page of GET /v1/mdmServers/{id}/relationships/devices: its
// limit parameter has a maximum of 1000 (developer.apple.com, "Get the Device Serial Numbers for a
// Device Management Service").
const MaxDevicesPageLimit = 1000

// BulkReader reads many devices' assignments in few requests. *Client implements it. It is apart
// from API so that fakes of API keep compiling; callers that can use it type-assert:
//
//	if bulk, ok := api.(applebusiness.BulkReader); ok { ... }
//
// Neither method waits out or retries a 429: the error carries Apple's Retry-After (see
// RetryAfter), and the caller, a Temporal workflow, waits with a timer.
type BulkReader interface {
	// AssignedDevices returns the serial of every device assigned to the MDM server, reading
	// every page.
	AssignedDevices(ctx context.Context, serverID string) ([]string, error)
	// AssignedDevicesPage reads one page from cursor ("" for the first).
	AssignedDevicesPage(ctx context.Context, serverID, cursor string, limit int) (DevicePage, error)
}

var _ BulkReader = (*Client)(nil)

// DevicePage is one page of the devices assigned to an MDM server.
type DevicePage struct {
	Serials []string `json:"serials"`
	// NextCursor reads the next page; "" on the last one.
	NextCursor string `json:"nextCursor,omitempty"`
	// Total is how many devices the server has, when Apple says (meta.paging.total); else 0.
	Total int `json:"total,omitempty"`
}

// AssignedDevicesPage reads one page of the serials assigned to the MDM server serverID ("" for
// Config.ServerID) with GET /v1/mdmServers/{id}/relationships/devices, limit devices at most (0 or
// more than MaxDevicesPageLimit: MaxDevicesPageLimit), from cursor ("" for the first page). One
// call is one GET; a 429 is an *APIError with Apple's Retry-After (RetryAfter(err)).
func (c *Client) AssignedDevicesPage(ctx context.Context, serverID, cursor string, limit int) (DevicePage, error) {
	if serverID == "" {
		serverID = c.cfg.ServerID
	}
	if strings.TrimSpace(serverID) == "" {
		return DevicePage{}, errors.New("apple business: list the devices of an MDM server: no MDM server id: set APPLE_SERVER_ID")
	}
	if limit <= 0 || limit > MaxDevicesPageLimit {
		limit = MaxDevicesPageLimit
	}
	op := "list the devices assigned to MDM server " + serverID
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var answer struct {
		Data []resourceID `json:"data"`
		// Links.Next is only read for its cursor: the token is never sent to a host the answer
		// names (Apple's own example names a host that is not the API's).
		Links struct {
			Next string `json:"next"`
		} `json:"links"`
		Meta struct {
			Paging struct {
				Total      int    `json:"total"`
				NextCursor string `json:"nextCursor"`
			} `json:"paging"`
		} `json:"meta"`
	}
	path := "/v1/mdmServers/" + url.PathEscape(serverID) + "/relationships/devices?" + q.Encode()
	if err := c.do(ctx, op, http.MethodGet, path, nil, &answer); err != nil {
		return DevicePage{}, err
	}
	page := DevicePage{Serials: make([]string, 0, len(answer.Data)), Total: answer.Meta.Paging.Total,
		NextCursor: answer.Meta.Paging.NextCursor}
	for _, d := range answer.Data {
		if d.Type != "" && d.Type != "orgDevices" || d.ID == "" {
			return DevicePage{}, fmt.Errorf("apple business: %s: the answer lists a %q %q, not an orgDevices serial", op, d.Type, d.ID)
		}
		page.Serials = append(page.Serials, d.ID)
	}
	if page.NextCursor == "" && answer.Links.Next != "" {
		next, err := url.Parse(answer.Links.Next)
		if err != nil || next.Query().Get("cursor") == "" {
			return DevicePage{}, fmt.Errorf("apple business: %s: links.next %q has no cursor", op, answer.Links.Next)
		}
		page.NextCursor = next.Query().Get("cursor")
	}
	if page.NextCursor != "" && page.NextCursor == cursor {
		return DevicePage{}, fmt.Errorf("apple business: %s: the next page's cursor is the one just read; stopping rather than reading it forever", op)
	}
	return page, nil
}

// AssignedDevices returns the serial of every device assigned to the MDM server serverID ("" for
// Config.ServerID), reading pages of MaxDevicesPageLimit: one GET a page, against Apple's budget
// of about 20 GET requests a minute. Any error ends it and no serials are returned; a 429 is an
// *APIError with Apple's Retry-After. A caller that wants to go on from where a 429 stopped it
// pages with AssignedDevicesPage itself.
func (c *Client) AssignedDevices(ctx context.Context, serverID string) ([]string, error) {
	var serials []string
	cursor, seen := "", map[string]bool{}
	for {
		page, err := c.AssignedDevicesPage(ctx, serverID, cursor, MaxDevicesPageLimit)
		if err != nil {
			return nil, err
		}
		serials = append(serials, page.Serials...)
		if page.NextCursor == "" {
			return serials, nil
		}
		if seen[page.NextCursor] {
			return nil, fmt.Errorf("apple business: list the devices assigned to MDM server %s: a page's cursor came back again after %d devices; stopping", serverID, len(serials))
		}
		seen[page.NextCursor] = true
		cursor = page.NextCursor
	}
}
