// The free callback form's rules, without the DOM (unit-tested in test/callback.test.mjs).
// The server checks everything again; these give the visitor every problem at once, at once.

/** What GET /w/api/callback answered, when the shop offers a callback here; else null. */
export function offerOf(answer) {
  const a = answer || {};
  if (a.enabled !== true || !Array.isArray(a.countries) || !a.countries.length) return null;
  if (typeof a.consent != "string" || !a.consent) return null;
  return a;
}

/** The form's problems by field (phone, consent), in the visitor's language. */
export function checkCallback(v, S) {
  const e = {};
  if (!v.phone) e.phone = S.cbNeedPhone;
  else if (/[^\d+\-() .]/.test(v.phone) || !/\d{5}/.test(v.phone.replace(/\D/g, ""))) e.phone = S.badPhone;
  if (!v.consent) e.consent = S.cbNeedConsent;
  return e;
}

/** The POST body: the form's values on top of the widget's own (k, t, url, lang). */
export function callbackBody(v, base) {
  const b = Object.assign({}, base, { phone: v.phone, consent: v.consent === true });
  if (v.country) b.country = v.country;
  if (v.at) b.at = v.at;
  return b;
}
