// How times, durations and progress read on the dashboard.

export const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
export const PHASES = ["Pending", "Running", "Retrying", "Succeeded", "Failed", "Cancelled"];

function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = typeof value === "number" ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

// Seconds as 0:42, 12:03 or 2:05:09.
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function between(start, end) {
  const a = toDate(start);
  const b = toDate(end) || (a ? new Date() : null);
  return a && b ? (b - a) / 1000 : null;
}

const SHORT = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };

// A moment, short: "Nov 30, 11:59:04" (the full date and zone in the tooltip of its element).
export function dateTime(value) {
  const date = toDate(value);
  return date ? date.toLocaleString([], SHORT) : "–";
}

// A log line's time: 14:03:27.512.
export function clock(value) {
  const date = toDate(value);
  if (!date) return "";
  const ms = String(date.getMilliseconds()).padStart(3, "0");
  return `${date.toLocaleTimeString([], { hour12: false })}.${ms}`;
}

export function ago(value) {
  const seconds = between(value, null);
  if (seconds === null) return "–";
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

export function percent(task) {
  const phase = task.phase || "Pending";
  const value = Number(task.progress ?? (phase === "Succeeded" ? 100 : 0));
  return Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0));
}

// Seconds left, by the pace of the current attempt so far; null when it cannot be told.
export function eta(progress, startedAt, now = Date.now()) {
  const started = toDate(startedAt);
  if (!started || !(progress > 0) || progress >= 100) return null;
  const elapsed = (now - started) / 1000;
  return elapsed > 0 ? (elapsed * (100 - progress)) / progress : null;
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export function bytes(count) {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / 1024 / 1024).toFixed(1)} MiB`;
}
