"""The installable Teams app: ``manifest.json`` filled in for one deployment, with its two icons,
zipped with every file at the root (what Teams' "Upload a custom app" expects)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifest" / "teams"
ICONS = ("color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")


class PackageError(ValueError):
    """A value the package cannot be built with (the message names it and why)."""


def filled_manifest(template: dict[str, Any], app_id: str, domain: str, version: str) -> dict[str, Any]:
    """Raises: PackageError for an app id that is not a GUID or a domain that is not a host name."""
    if not _GUID.match(app_id):
        raise PackageError(f"--app-id: '{app_id}' is not a GUID (the Azure Bot's Microsoft App ID)")
    domain = domain.removeprefix("https://").rstrip("/")
    if not _DOMAIN.match(domain):
        raise PackageError(f"--domain: '{domain}' is not a host name like centralita.clinica.es")
    manifest: dict[str, Any] = json.loads(json.dumps(template))
    manifest["id"] = app_id
    manifest["version"] = version
    for bot in manifest["bots"]:
        bot["botId"] = app_id
    manifest["validDomains"] = [domain]
    site = f"https://{domain}"
    manifest["developer"] |= {
        "websiteUrl": site,
        "privacyUrl": f"{site}/privacy",
        "termsOfUseUrl": f"{site}/terms",
    }
    return manifest


def write_package(out: Path, app_id: str, domain: str, version: str, source: Path = MANIFEST_DIR) -> Path:
    template = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest = filled_manifest(template, app_id, domain, version)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for icon in ICONS:
            package.write(source / icon, icon)
    return out
