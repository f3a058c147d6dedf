// Text from outside (a client's certificate, a CA's error) made safe for one log line: no control, format or
// separator character reaches the log, where a line break would forge a line and a bidi override would make a
// terminal show the line other than it is.

const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** `text` with every control, format and line/paragraph separator character (and lone surrogate) as `?`. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '?');
}
