"""`flows/services.yaml`: real services with what they are for, where they work and when last checked."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.flows.checker import NAME, Checker
from bot.flows.model import Service
from bot.flows.yamlsource import LineDict

SERVICE_KEYS = ("name", "for", "phone", "text", "url", "hours", "regions", "source", "checked")
SERVICE_STALE_AFTER = timedelta(days=365)


def parse_services(ck: Checker, path: Path, doc: Any) -> None:
    """Check services.yaml and keep each valid service in `ck.services`."""
    file = ck.display(path)
    top = ck.mapping(file, 1, "", doc, "services.yaml")
    if top is None:
        return
    ck.unknown_keys(file, "", top, ("services",), "services.yaml")
    entries = ck.mapping(file, top.line_of("services"), "", top.get("services"), "`services`")
    if entries is None:
        return
    for sid, raw in entries.items():
        line = entries.line_of(sid)
        where = f"service {sid}"
        if not isinstance(sid, str) or not NAME.match(sid):
            ck.error(
                file, line, where, f"service id `{sid}` is not a simple name", "use lower-case letters, digits and _"
            )
            continue
        data = ck.mapping(file, line, where, raw, f"service `{sid}`")
        if data is not None:
            _service(ck, file, sid, data)


def _service(ck: Checker, file: str, sid: str, data: LineDict) -> None:
    where = f"service {sid}"
    ck.unknown_keys(file, where, data, SERVICE_KEYS, "a service")
    name = ck.text(file, data.line_of("name"), where, data.get("name"), "`name`")
    about = ck.text(file, data.line_of("for"), where, data.get("for"), "`for` (what it is for)")
    fields: dict[str, Any] = {}
    for key in ("phone", "text", "url", "hours", "source"):
        if key in data:
            value = data[key]
            if key in ("phone", "text") and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            fields[key] = ck.text(file, data.line_of(key), where, value, f"`{key}`")
    for key in ("url", "source"):
        if fields.get(key) and not str(fields[key]).startswith("https://"):
            ck.error(
                file,
                data.line_of(key),
                where,
                f"`{key}` should be an https:// address",
                "copy the full address from the browser",
            )
    regions = data.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        ck.error(file, data.line_of("regions"), where, "`regions` should be a list of names", "e.g. [England, Wales]")
        regions = []
    checked = data.get("checked")
    if checked is not None and not isinstance(checked, date):
        ck.error(
            file, data.line_of("checked"), where, "`checked` should be a date", "write it as YYYY-MM-DD, without quotes"
        )
        checked = None
    if checked is not None and ck.today is not None and ck.today - checked > SERVICE_STALE_AFTER:
        ck.warn(
            file,
            data.line_of("checked"),
            where,
            f"last checked {checked}, over a year ago",
            "check the details against `source` and update `checked`",
        )
    if name and about:
        ck.services[sid] = Service(id=sid, name=name, about=about, regions=tuple(regions), checked=checked, **fields)
