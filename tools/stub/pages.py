"""The activation pages a person sees, modelled on Auth0's: enter the code, confirm, done.

Plain HTML forms, no JavaScript. Each function returns the page as bytes.
"""
from html import escape

_STYLE = ("body{font-family:sans-serif;max-width:26em;margin:3em auto;padding:0 1em;color:#222}"
          "input[type=text]{font-size:1.4em;letter-spacing:.1em;width:10em;text-transform:uppercase}"
          ".code{font-size:2em;font-family:monospace;letter-spacing:.15em}"
          ".error{color:#b00}button{font-size:1.1em;margin:.5em .5em 0 0;padding:.3em 1.2em}")


def _page(title, body):
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>%s</title><style>%s</style></head>\n<body>\n<h1>%s</h1>\n%s\n</body></html>\n"
            % (escape(title), _STYLE, escape(title), body)).encode("utf-8")


def index(base_url):
    return _page("deviceflow stub", "<p>An Auth0-compatible stub authorization server.</p>"
                 "<p><a href=\"/activate\">Activate a device</a> &middot; "
                 "<a href=\"/.well-known/openid-configuration\">discovery</a></p>")


def enter_code(prefill="", error=""):
    msg = "<p class=\"error\">%s</p>\n" % escape(error) if error else ""
    return _page("Device Activation",
                 msg + "<p>Enter the code displayed on your device.</p>\n"
                 "<form method=\"post\" action=\"/activate\">\n"
                 "<input type=\"text\" name=\"user_code\" value=\"%s\" autocomplete=\"off\" "
                 "autofocus placeholder=\"XXXX-XXXX\">\n<button type=\"submit\">Continue</button>\n"
                 "</form>" % escape(prefill or ""))


def confirm(user_code, user):
    return _page("Device Confirmation",
                 "<p>Please confirm this is the code displayed on your device:</p>\n"
                 "<p class=\"code\">%s</p>\n<p>Signed in as %s &lt;%s&gt;.</p>\n"
                 "<form method=\"post\" action=\"/activate/confirm\">\n"
                 "<input type=\"hidden\" name=\"user_code\" value=\"%s\">\n"
                 "<button type=\"submit\" name=\"action\" value=\"approve\">Confirm</button>\n"
                 "<button type=\"submit\" name=\"action\" value=\"deny\">Cancel</button>\n</form>"
                 % (escape(user_code), escape(user.get("name") or ""),
                    escape(user.get("email") or ""), escape(user_code)))


def done(approved):
    if approved:
        return _page("Congratulations, you're all set!",
                     "<p>Your device is now connected. You can close this page.</p>")
    return _page("Access denied",
                 "<p>You cancelled the request; the device will not be connected.</p>"
                 "<p><a href=\"/activate\">Enter another code</a></p>")
