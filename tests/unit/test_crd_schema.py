"""The CRD file itself: every schema node uses only OpenAPI keywords the API server knows (a stray
comma in a YAML flow mapping turns prose into unknown keys, which a re-apply then refuses)."""

from __future__ import annotations

from pathlib import Path

import yaml

CRD = yaml.safe_load((Path(__file__).parents[2] / "crds" / "rolloutbatch.yaml").read_text())
KEYWORDS = {"type", "properties", "additionalProperties", "items", "required", "description", "default", "enum",
            "minimum", "maximum", "maxLength", "pattern", "format", "maxItems", "maxProperties",
            "x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type",
            "x-kubernetes-list-map-keys"}


def unknown_keys(node: dict, path: str) -> list[str]:
    bad = [f"{path}.{k}" for k in node if k not in KEYWORDS]
    for name, sub in (node.get("properties") or {}).items():
        bad += unknown_keys(sub, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        bad += unknown_keys(node["additionalProperties"], f"{path}[*]")
    if isinstance(node.get("items"), dict):
        bad += unknown_keys(node["items"], f"{path}[]")
    return bad


def test_every_schema_node_uses_only_openapi_keywords() -> None:
    assert unknown_keys(CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "") == []


def test_every_field_has_a_description_or_is_self_explanatory_in_the_flags() -> None:
    flags = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["flags"]
    assert all("," not in k and v.get("description") for k, v in flags["properties"].items())
    assert flags["properties"]["p0Enabled"]["description"] == "P0 (stocks, ETFs, indices, futures, SGE) may run"
