/**
 * The strftime subset Pacemaker's `timestamp-format` uses, in local time: %Y %y %m %d %e %H %M %S
 * %j %b %a %Z %z %s %F %T %D %% and Pacemaker's %N (fractions of a second; `%3N` milliseconds,
 * `%06N` microseconds, `%N` nanoseconds). Anything else is copied as written.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number, w = 2, c = '0'): string => String(n).padStart(w, c);

export function formatTimestamp(format: string, ms: number): string {
  const d = new Date(ms);
  const frac = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1000) * 1000; // nanoseconds (a ms clock holds µs at best)
  return format.replace(/%(0?)(\d*)([A-Za-z%])/g, (all, _zero: string, width: string, c: string) => {
    switch (c) {
      case 'N': {
        const digits = Math.min(9, Math.max(1, width ? Number(width) : 9));
        return pad(frac, 9).slice(0, digits);
      }
      case 'Y':
        return String(d.getFullYear());
      case 'y':
        return pad(d.getFullYear() % 100);
      case 'm':
        return pad(d.getMonth() + 1);
      case 'd':
        return pad(d.getDate());
      case 'e':
        return pad(d.getDate(), 2, ' ');
      case 'H':
        return pad(d.getHours());
      case 'M':
        return pad(d.getMinutes());
      case 'S':
        return pad(d.getSeconds());
      case 'j':
        return pad(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1, 3);
      case 'b':
        return MONTHS[d.getMonth()]!;
      case 'a':
        return DAYS[d.getDay()]!;
      case 's':
        return String(Math.floor(ms / 1000));
      case 'z': {
        const off = -d.getTimezoneOffset();
        return `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
      }
      case 'Z':
        return (
          Intl.DateTimeFormat('en', { timeZoneName: 'short' })
            .formatToParts(d)
            .find((p) => p.type === 'timeZoneName')?.value ?? ''
        );
      case 'F':
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case 'T':
        return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      case 'D':
        return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
      case '%':
        return '%';
      default:
        return all;
    }
  });
}
