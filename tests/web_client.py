"""A browser-like client for the HTML app over real HTTP: cookies, forms with their CSRF token, no JavaScript."""
from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request

import lxml.html


class Page:
    def __init__(self, status: int, url: str, text: str):
        self.status, self.url, self.text = status, url, text
        self.doc = lxml.html.fromstring(text) if text.strip() else None

    def css(self, selector: str):
        return self.doc.cssselect(selector)

    def texts(self, selector: str) -> list[str]:
        return [" ".join(el.text_content().split()) for el in self.css(selector)]

    def form(self, selector: str = "main form") -> dict:
        """The fields a browser would send for the first matching form (checked boxes only, selected options)."""
        form = self.css(selector)[0]
        return dict(form.form_values())

    def csrf(self) -> str:
        return self.css("input[name=csrf_token]")[0].get("value")


class WebClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, data=None, headers=None) -> Page:
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=30) as response:
                # a download (PDF, XLSX) is not text: kept readable as far as it goes, never an error
                return Page(response.status, response.url, response.read().decode(errors="replace"))
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            err.close()
            return Page(err.code, err.url, text)

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, data) -> Page:
        return self.request("POST", path, data)

    def login(self, username: str, password: str = "demo1234", language: str | None = None) -> Page:
        data = {"username": username, "password": password}
        if language:
            data["language"] = language
        page = self.post("/login", data)
        assert page.status == 200 and "/login" not in page.url, page.text[:500]
        return page
