/**
 * time.js: how times and days are shown (in the browser's locale and time zone), and the
 * rules for grouping messages by day and by author.
 */

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const shortDateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** Two messages by the same author this close together share one header. */
export const GROUP_GAP_MS = 5 * 60 * 1000;

export function parseTime(iso) {
  return iso ? new Date(iso) : new Date();
}

/** "3:41 PM". */
export function formatTime(iso) {
  return timeFmt.format(parseTime(iso));
}

/** The full date and time, for tooltips. */
export function formatFull(iso) {
  return fullFmt.format(parseTime(iso));
}

/** A local-calendar key for day dividers. */
export function dayKey(iso) {
  const d = parseTime(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday", "Monday, June 3" (with the year when it is not this year). */
export function formatDay(iso) {
  const d = parseTime(iso);
  const now = new Date();
  if (dayKey(iso) === dayKey(now.toISOString())) return 'Today';
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (dayKey(iso) === dayKey(y.toISOString())) return 'Yesterday';
  return d.getFullYear() === now.getFullYear() ? dayFmt.format(d) : dayYearFmt.format(d);
}

/** A short relative or calendar label for search results: "3:41 PM" today, else "Jun 3". */
export function formatWhen(iso) {
  return dayKey(iso) === dayKey(new Date().toISOString()) ? formatTime(iso) : shortDateFmt.format(parseTime(iso));
}

/** Whether `msg` continues `prev`'s group: same author, same day, within the gap. */
export function continuesGroup(prev, msg) {
  if (!prev || prev.user_id !== msg.user_id) return false;
  // A message with a thread under it ends its group (its reply summary sits between).
  if (prev.reply_count > 0) return false;
  if (dayKey(prev.created_at) !== dayKey(msg.created_at)) return false;
  return parseTime(msg.created_at) - parseTime(prev.created_at) < GROUP_GAP_MS;
}
