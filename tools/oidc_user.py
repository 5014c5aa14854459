"""The scripted user for node oidc-provider's device pages (tools/oidc_provider/server.js).

Plays the person holding a phone next to the device: opens the verification URI the device
shows, types the user code, confirms (or aborts), signs in and consents on the provider's
built-in development pages. Plain HTTP with a cookie jar, HTML forms read with the stdlib;
nothing here talks OAuth to the token endpoint, that is the device's job.

    python tools/oidc_user.py approve VERIFICATION_URI USER_CODE [--login alice]
    python tools/oidc_user.py deny    VERIFICATION_URI USER_CODE

Library use: approve(uri, code) / deny(uri, code) return the title of the last page seen and
raise UserFlowError when a page does not look like the next expected step.
"""
import argparse
import html.parser
import http.cookiejar
import sys
import urllib.parse
import urllib.request

TIMEOUT_S = 10


class UserFlowError(Exception):
    pass


class _Form:
    def __init__(self, form_id, action, method):
        self.id = form_id
        self.action = action
        self.method = (method or "get").lower()
        self.fields = []  # (name, value) of inputs, in page order
        self.buttons = []  # (name, value, text) of submit buttons


class _PageParser(html.parser.HTMLParser):
    """Collects forms (with inputs and submit buttons, also those linked by form="id") and the title."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.title = ""
        self.text = []
        self._open = None
        self._in_title = False
        self._button = None

    def _target(self, attrs):
        ref = attrs.get("form")
        if ref:
            for f in self.forms:
                if f.id == ref:
                    return f
            return None
        return self._open

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._open = _Form(a.get("id"), a.get("action", ""), a.get("method"))
            self.forms.append(self._open)
        elif tag == "input":
            form = self._target(a)
            kind = (a.get("type") or "text").lower()
            if form is not None and a.get("name") and kind not in ("submit", "button", "image"):
                form.fields.append((a["name"], a.get("value") or ""))
        elif tag == "button":
            self._button = (self._target(a), a.get("name"), a.get("value") or "", [])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None
        elif tag == "button" and self._button is not None:
            form, name, value, text = self._button
            if form is not None:
                form.buttons.append((name, value, "".join(text).strip()))
            self._button = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._button is not None:
            self._button[3].append(data)
        self.text.append(data)


class Page:
    def __init__(self, url, status, body):
        self.url = url
        self.status = status
        self.body = body
        p = _PageParser()
        p.feed(body)
        p.close()
        self.forms = p.forms
        self.title = p.title.strip()
        self.text = " ".join(" ".join(p.text).split())

    def form(self, predicate, what):
        for f in self.forms:
            if predicate(f):
                return f
        raise UserFlowError("expected %s on %s (title %r)" % (what, self.url, self.title))


class Browser:
    """A minimal browser: cookie jar, follows redirects, submits forms."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _open(self, req):
        try:
            with self.opener.open(req, timeout=TIMEOUT_S) as r:
                return Page(r.geturl(), r.status, r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return Page(e.geturl(), e.code, e.read().decode("utf-8", "replace"))

    def get(self, url):
        return self._open(urllib.request.Request(url, method="GET"))

    def submit(self, page, form, values=None, button=None):
        """Submit `form` from `page`: its hidden fields, `values` over them, and the named button."""
        fields = dict(form.fields)
        fields.update(values or {})
        if button is not None and button[0]:
            fields[button[0]] = button[1]
        url = urllib.parse.urljoin(page.url, form.action or page.url)
        data = urllib.parse.urlencode(fields).encode()
        if form.method == "post":
            req = urllib.request.Request(url, data=data, method="POST")
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        else:
            req = urllib.request.Request(url + ("&" if "?" in url else "?") + data.decode(), method="GET")
        return self._open(req)


def _has_field(name):
    return lambda f: any(n == name for n, _ in f.fields)


def _prompt(name):
    return lambda f: ("prompt", name) in f.fields


def _enter_code(browser, verification_uri, user_code):
    page = browser.get(verification_uri)
    form = page.form(_has_field("user_code"), "the user-code form")
    page = browser.submit(page, form, {"user_code": user_code})
    confirm = page.form(_has_field("confirm"), "the confirm-device form (code rejected?)")
    return page, confirm


def approve(verification_uri, user_code, login="alice", password="any password"):
    """Enter the code, confirm, sign in as `login`, consent. Returns the final page title."""
    b = Browser()
    page, confirm = _enter_code(b, verification_uri, user_code)
    page = b.submit(page, confirm)
    for _ in range(4):  # login, then consent (each at most once; a remembered grant skips consent)
        login_form = _find(page, _prompt("login"))
        if login_form is not None:
            page = b.submit(page, login_form, {"login": login, "password": password})
            continue
        consent_form = _find(page, _prompt("consent"))
        if consent_form is not None:
            page = b.submit(page, consent_form)
            continue
        break
    if "Success" not in page.title:
        raise UserFlowError("sign-in did not finish: %s %r %s" % (page.status, page.title, page.text[:200]))
    return page.title


def deny(verification_uri, user_code):
    """Enter the code, then press the confirm page's Abort. Returns the final page title."""
    b = Browser()
    page, confirm = _enter_code(b, verification_uri, user_code)
    abort = None
    for button in confirm.buttons:
        if button[0] == "abort":
            abort = button
    if abort is None:
        raise UserFlowError("no Abort button on the confirm page")
    page = b.submit(page, confirm, button=abort)
    if page.status >= 500:
        raise UserFlowError("abort failed: %s %r" % (page.status, page.title))
    return page.title


def _find(page, predicate):
    for f in page.forms:
        if predicate(f):
            return f
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=("approve", "deny"))
    ap.add_argument("verification_uri")
    ap.add_argument("user_code")
    ap.add_argument("--login", default="alice")
    args = ap.parse_args(argv)
    try:
        if args.action == "approve":
            title = approve(args.verification_uri, args.user_code, login=args.login)
        else:
            title = deny(args.verification_uri, args.user_code)
    except (UserFlowError, OSError) as e:
        print("user: failed: %s" % e, file=sys.stderr)
        return 1
    print("user: %s done, last page %r" % (args.action, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
