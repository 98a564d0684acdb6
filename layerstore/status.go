package layerstore

import (
	"fmt"
	"time"
)

// StateString is docker's one-word state of a container (moby's
// container.State.StateString): what docker ps shows as .State and
// docker inspect as State.Status.
func (st State) StateString() string {
	switch {
	case st.Paused && st.Running:
		return "paused"
	case st.Restarting && st.Running:
		return "restarting"
	case st.Running:
		return "running"
	case st.RemovalInProgress:
		return "removing"
	case st.Dead:
		return "dead"
	case st.StartedAt.IsZero():
		return "created"
	}
	return "exited"
}

// Status is STATUS as docker ps shows it at now ("Exited (0) 3 hours
// ago"). Nothing runs in an offline store: a container that was running
// when the store was copied says so.
func (st State) Status(now time.Time) string {
	since := func(t time.Time) string { return HumanDuration(now.Sub(t)) }
	if st.Running {
		const copied = " (running when copied)"
		switch {
		case st.Paused:
			return "Up " + since(st.StartedAt) + " (Paused)" + copied
		case st.Restarting:
			return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, since(st.FinishedAt)) + copied
		case st.Health != "":
			return "Up " + since(st.StartedAt) + " (" + st.Health + ")" + copied
		}
		return "Up " + since(st.StartedAt) + copied
	}
	switch st.StateString() {
	case "removing":
		return "Removal In Progress"
	case "dead":
		return "Dead"
	case "created":
		return "Created"
	}
	if st.FinishedAt.IsZero() {
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, since(st.FinishedAt))
}

// HumanDuration rounds d to the single unit docker prints (go-units'
// HumanDuration): "Less than a second", "About an hour", "3 years".
func HumanDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	mins := int64(d / time.Minute)
	// Hours round to the nearest, so that 90 minutes reads "2 hours".
	hours := int64((d + 30*time.Minute) / time.Hour)
	const day, week, month, year = 24, 24 * 7, 24 * 30, 24 * 365
	switch {
	case secs < 1:
		return "Less than a second"
	case secs == 1:
		return "1 second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case mins == 1:
		return "About a minute"
	case mins < 60:
		return fmt.Sprintf("%d minutes", mins)
	case hours == 1:
		return "About an hour"
	case hours < 2*day:
		return fmt.Sprintf("%d hours", hours)
	case hours < 2*week:
		return fmt.Sprintf("%d days", hours/day)
	case hours < 2*month:
		return fmt.Sprintf("%d weeks", hours/week)
	case hours < 2*year:
		return fmt.Sprintf("%d months", hours/month)
	}
	return fmt.Sprintf("%d years", int64(d/time.Hour)/year)
}
