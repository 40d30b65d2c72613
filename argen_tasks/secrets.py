"""Keeping API keys out of everything argen records: command lines, configs, URLs and messages.

Redaction works by flag name and by value: a key is masked wherever it appears, whichever way it
arrived (``--judge-api-key``, ``OPENAI_API_KEY``, or the credentials of a URL such as
``https://user:KEY@host/v1``), so a key typed into another argument or echoed in an error
message is masked too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_FLAGS = ("--judge-api-key",)
SECRET_ENV = ("OPENAI_API_KEY", "WANDB_API_KEY")
MIN_SECRET_CHARS = 6
"""Shorter values are not masked by value: masking every "k" would garble the text, and no real key is that short."""

_SECRET_QUERY = re.compile(r"key|token|secret|password|passwd|auth|signature|sig", re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` without its credentials: the user-info part and query parameters that look like keys."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return re.sub(r"//[^/@\s]*@", f"//{MASK}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        netloc = f"{MASK}@{host}" + (f":{port}" if port is not None else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_QUERY.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secret_values(argv: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> set[str]:
    """Every key this process was given: secret flag values, secret environment variables, URL credentials."""
    environ = os.environ if environ is None else environ
    values = {environ[name] for name in SECRET_ENV if environ.get(name)}
    args = list(argv)
    for i, arg in enumerate(args):
        for flag in SECRET_FLAGS:
            if arg == flag and i + 1 < len(args):
                values.add(args[i + 1])
            elif arg.startswith(flag + "="):
                values.add(arg.split("=", 1)[1])
        for url in _URL.findall(arg):
            values.update(_url_credentials(url))
    for value in environ.values():
        for url in _URL.findall(value):
            values.update(_url_credentials(url))
    return {v for v in values if len(v) >= MIN_SECRET_CHARS}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL credentials and every given secret value masked (longest first, so no key's tail survives)."""
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def redact_argv(argv: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``argv`` fit to record (run.json, W&B metadata): secret flag values and every known key masked."""
    secrets = secret_values(argv, environ)
    redacted = []
    masked_next = False
    for arg in argv:
        if masked_next:
            redacted.append(MASK)
        elif any(arg.startswith(flag + "=") for flag in SECRET_FLAGS):
            redacted.append(arg.split("=", 1)[0] + "=" + MASK)
        else:
            redacted.append(redact_text(arg, secrets))
        masked_next = arg in SECRET_FLAGS
    return redacted


def _url_credentials(url: str) -> set[str]:
    try:
        parts = urlsplit(url)
        found = {parts.username or "", parts.password or ""}
        found |= {v for k, v in parse_qsl(parts.query) if _SECRET_QUERY.search(k)}
    except ValueError:
        return set()
    return {value for value in found if value}
