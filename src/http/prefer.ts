/**
 * The `return` preference of a request's RFC 7240 `Prefer` header(s): `minimal` (answer with a summary) or
 * `representation` (the full answer, which is also what a request without one gets). Preferences are
 * comma-separated tokens, case-insensitive, a value possibly quoted and followed by `;` parameters; several
 * `Prefer` headers arrive joined by commas. The first `return` preference counts; an unknown value is
 * ignored, as RFC 7240 asks of a preference the server does not support.
 * @example returnPreference('respond-async, return=minimal') // 'minimal'
 */
export function returnPreference(header: string | undefined): 'minimal' | 'representation' | undefined {
  if (header === undefined) return undefined;
  for (const preference of header.split(',')) {
    const [token = ''] = preference.split(';', 1);
    const eq = token.indexOf('=');
    if (eq < 0 || token.slice(0, eq).trim().toLowerCase() !== 'return') continue;
    const value = token
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (value === 'minimal' || value === 'representation') return value;
    return undefined;
  }
  return undefined;
}
