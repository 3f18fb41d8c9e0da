package applebusiness

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DeviceResult is one line of an activity log: what the activity did to one device.
type DeviceResult struct {
	Serial string `json:"serialNumber"`
	// Status is SUCCESS or FAILED, as the log says it (upper-cased).
	Status string `json:"status"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Succeeded reports whether the activity did its work on this device.
func (r DeviceResult) Succeeded() bool { return r.Status == "SUCCESS" }

// ActivityLogReader reads the per-device log of a completed activity. *Client implements it; an
// API that does not (a test fake) leaves a batch's callers to verify each device themselves.
type ActivityLogReader interface {
	ActivityLog(ctx context.Context, downloadURL string) ([]DeviceResult, error)
}

var _ ActivityLogReader = (*Client)(nil)

// maxLogBody bounds the log the client reads: 1000 devices of a full activity fit many times.
const maxLogBody = 8 << 20

// ActivityLog downloads and parses the activity log at an activity's downloadUrl. Apple's
// downloadUrl is a presigned URL of its blob store: it carries its own credential, so the access
// token is never sent with it (nor to any other host).
func (c *Client) ActivityLog(ctx context.Context, downloadURL string) ([]DeviceResult, error) {
	u, err := url.Parse(downloadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("apple business: read activity log: %q is not an http(s) URL", downloadURL)
	}
	op := "read activity log from " + u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("apple business: %s: %w", op, err)
	}
	req.Header.Set("Accept", "text/csv")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("apple business: %s: %s: %w", op, transportHint(ctx, http.MethodGet), stripQuery(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		e := &APIError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(body)), Op: op}
		return nil, e
	}
	rows, err := ParseActivityLog(io.LimitReader(resp.Body, maxLogBody))
	if err != nil {
		return nil, fmt.Errorf("apple business: %s: %w", op, err)
	}
	return rows, nil
}

// stripQuery keeps a presigned URL's signature (its query) out of an error message.
func stripQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// ParseActivityLog reads an activity log: CSV with a header line and one line per device. The
// columns are found by name, whatever their order and case ("serialNumber", "Serial Number" and
// "serial_number" are one column), so a column Apple adds does not break the parser; the serial
// and status columns are required.
func ParseActivityLog(r io.Reader) ([]DeviceResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the activity log is empty: no header line")
	}
	if err != nil {
		return nil, fmt.Errorf("the activity log is not CSV: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		key := strings.NewReplacer(" ", "", "_", "", "-", "", "\ufeff", "").Replace(strings.ToLower(name))
		if _, dup := col[key]; !dup {
			col[key] = i
		}
	}
	serialCol, ok := firstColumn(col, "serialnumber", "serial", "deviceid")
	if !ok {
		return nil, fmt.Errorf("the activity log has no serial number column (header %q)", strings.Join(header, ","))
	}
	statusCol, ok := firstColumn(col, "status", "result")
	if !ok {
		return nil, fmt.Errorf("the activity log has no status column (header %q)", strings.Join(header, ","))
	}
	codeCol, _ := firstColumn(col, "code", "errorcode")
	detailCol, _ := firstColumn(col, "detail", "message", "errormessage", "description")
	cell := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var out []DeviceResult
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("the activity log is not CSV: %w", err)
		}
		serial := strings.ToUpper(cell(rec, serialCol))
		if serial == "" {
			continue
		}
		out = append(out, DeviceResult{Serial: serial, Status: strings.ToUpper(cell(rec, statusCol)),
			Code: cell(rec, codeCol), Detail: cell(rec, detailCol)})
	}
}

func firstColumn(col map[string]int, names ...string) (int, bool) {
	for _, n := range names {
		if i, ok := col[n]; ok {
			return i, true
		}
	}
	return -1, false
}
