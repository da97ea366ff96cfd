package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats.
const (
	Text = "text"
	JSON = "json"
	CSV  = "csv"
)

// Write writes ms in format (Text, JSON or CSV).
func Write(w io.Writer, format string, ms []Measurement) error {
	switch strings.ToLower(format) {
	case Text, "":
		return WriteText(w, ms)
	case JSON:
		return WriteJSON(w, ms)
	case CSV:
		return WriteCSV(w, ms)
	}
	return fmt.Errorf("report: unknown format %q (want text, json or csv)", format)
}

// WriteText writes YCSB's text summary, one "[METRIC], Name, value" a line.
func WriteText(w io.Writer, ms []Measurement) error {
	for _, m := range ms {
		if _, err := fmt.Fprintf(w, "[%s], %s, %s\n", m.Metric, m.Name, m.FormatValue()); err != nil {
			return err
		}
	}
	return nil
}

// jsonMeasurement is the element of YCSB's JSON array exporter.
type jsonMeasurement struct {
	Metric      string  `json:"metric"`
	Measurement string  `json:"measurement"`
	Value       float64 `json:"value"`
}

// WriteJSON writes the measurements as YCSB's JSON array exporter does:
// [{"metric": "READ", "measurement": "Operations", "value": 500}, ...].
func WriteJSON(w io.Writer, ms []Measurement) error {
	out := make([]jsonMeasurement, len(ms))
	for i, m := range ms {
		out[i] = jsonMeasurement{Metric: m.Metric, Measurement: m.Name, Value: m.Value}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ReadJSON reads what WriteJSON wrote.
func ReadJSON(r io.Reader) ([]Measurement, error) {
	var in []jsonMeasurement
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	ms := make([]Measurement, len(in))
	for i, m := range in {
		ms[i] = Measurement{Metric: m.Metric, Name: m.Measurement, Value: m.Value}
	}
	return ms, nil
}

// WriteCSV writes "metric,measurement,value" with a header row.
func WriteCSV(w io.Writer, ms []Measurement) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"metric", "measurement", "value"}); err != nil {
		return err
	}
	for _, m := range ms {
		if err := cw.Write([]string{m.Metric, m.Name, m.FormatValue()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
